"""No untrusted code runs, no entity is expanded, no file is touched.

Malicious conditions and scripts are refused when the file is loaded; if
one reached the runtime anyway (a tampered ``spec_json``), the evaluator
refuses it there.  SpiffWorkflow's own ``eval``/``exec`` engine is never
called.
"""

import json

import pytest
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from tests.bpmn.documents import HEAD, document, flow, gateway_document, linear, user_task
from yizhan import bpmn

MALICIOUS = [
    "__import__('os').system('touch {marker}')",
    "open('{marker}', 'w').write('pwned')",
    "open('/etc/passwd').read()",
    "().__class__.__bases__[0].__subclasses__()",
    "().__class__",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "(lambda: __import__('os'))()",
    "getattr(len, '__self__')",
    "len.__self__.__import__('os')",
    "f'{{__import__(\"os\").system(\"touch {marker}\")}}'",
    "amount ** amount ** amount",
    "eval('1')",
    "globals()",
]


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "pwned"


def load(xml):
    return bpmn.load_process(xml, resolve_agency=lambda name: False)


@pytest.fixture(autouse=True)
def _spiff_python_engine_is_never_used(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("SpiffWorkflow's eval/exec environment was called")

    monkeypatch.setattr(TaskDataEnvironment, "evaluate", refuse)
    monkeypatch.setattr(TaskDataEnvironment, "execute", refuse)


@pytest.mark.parametrize("expression", MALICIOUS)
def test_malicious_condition_is_refused_at_load_time(expression, marker):
    condition = expression.format(marker=marker)
    with pytest.raises(bpmn.ProcessError) as info:
        load(gateway_document(condition))
    assert "不被允许" in info.value.render("zh-hans")
    assert info.value.fields["element_id"] == "f_condition"
    assert not marker.exists()


@pytest.mark.parametrize("expression", MALICIOUS)
def test_malicious_completion_condition_is_refused_at_load_time(expression, marker):
    xml = linear("a", lane="$joint/reviewer").replace(
        b'name="a"></bpmn:userTask>',
        ('name="a"><bpmn:multiInstanceLoopCharacteristics><bpmn:completionCondition>'
         + expression.format(marker=marker).replace("<", "&lt;")
         + "</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics>"
           "</bpmn:userTask>").encode())
    with pytest.raises(bpmn.ProcessError):
        load(xml)
    assert not marker.exists()


def _script_document(script: str) -> bytes:
    body = ('<bpmn:startEvent id="start"/><bpmn:scriptTask id="s" name="算费">'
            f"<bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"
            '<bpmn:endEvent id="approved"/>' + flow("start", "s") + flow("s", "approved"))
    return document(body)


@pytest.mark.parametrize("script", [
    "import os\nos.system('touch {marker}')",
    "x = __import__('os').system('touch {marker}')",
    "x = open('{marker}', 'w')",
    "__builtins__ = None",
    "x = 1\nexec('y = 2')",
    "def f(): pass",
    "fee.real = 1",
    "joint_opinions = ['approve']",
])
def test_malicious_script_is_refused_at_load_time(script, marker):
    with pytest.raises(bpmn.ProcessError) as info:
        load(_script_document(script.format(marker=marker)))
    assert info.value.fields["element_id"] == "s"
    assert not marker.exists()


def _tamper(spec_json: str, old: str, new: str) -> str:
    """What an attacker with write access to the stored spec could do."""
    document = json.loads(spec_json)
    text = json.dumps(document, ensure_ascii=False)
    assert json.dumps(old)[1:-1] in text
    return text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])


@pytest.mark.parametrize("expression", MALICIOUS)
def test_malicious_condition_that_slipped_past_loading_is_refused_at_run_time(
        expression, marker):
    definition = load(gateway_document("amount > 100000"))
    spec_json = _tamper(definition.spec_json, "amount > 100000",
                        expression.format(marker=marker))
    step = bpmn.start(spec_json, data={"amount": 2}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.complete(spec_json, step.state_json, task_id=step.ready[0].task_id,
                      data={"opinion": "approve"})
    assert info.value.render("zh-hans").startswith("流程运行出错：gw：")
    assert not marker.exists()


def test_malicious_script_that_slipped_past_loading_is_refused_at_run_time(marker):
    definition = load(_script_document("fee = 1"))
    spec_json = _tamper(definition.spec_json, "fee = 1",
                        f"import os\nos.system('touch {marker}')")
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.start(spec_json, data={}, agencies={})
    assert "脚本只能是“变量 = 表达式”形式的赋值" in info.value.render("zh-hans")
    assert not marker.exists()


@pytest.mark.parametrize("script", ['typename = "x"', r'note = "\ud800"'])
def test_a_script_whose_result_could_not_be_stored_is_refused_at_run_time(script):
    """Slipped past loading, it is still refused (a 4xx naming nothing stored),
    never handed back in a state that cannot be read again or saved."""
    definition = load(_script_document("fee = 1"))
    spec_json = _tamper(definition.spec_json, "fee = 1", script)
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.start(spec_json, data={}, agencies={})
    assert info.value.http_status == 422
    assert info.value.render("zh-hans").startswith("流程运行出错：s：")


def test_a_second_non_executable_pool_never_reaches_the_engine(marker):
    """Camunda Modeler and bpmn.io collaborations: a second pool
    (``isExecutable="false"``) holding a Python script and a service task loads,
    is not part of the stored spec, and nothing in it runs."""
    body = ('<bpmn:startEvent id="start"/>' + user_task("accept", "受理")
            + '<bpmn:endEvent id="approved"/>' + flow("start", "accept")
            + flow("accept", "approved"))
    collaboration = (
        '<bpmn:collaboration id="c"><bpmn:participant id="p1" name="审批" processRef="test"/>'
        '<bpmn:participant id="p2" name="申请人" processRef="other"/></bpmn:collaboration>')
    other = ('<bpmn:process id="other" isExecutable="false"><bpmn:startEvent id="o_s"/>'
             f'<bpmn:scriptTask id="o_sc"><bpmn:script>__import__("os").system("touch {marker}")'
             '</bpmn:script></bpmn:scriptTask><bpmn:serviceTask id="o_t"/>'
             '<bpmn:sequenceFlow id="o_f" sourceRef="o_s" targetRef="o_sc"/>'
             '<bpmn:sequenceFlow id="o_f2" sourceRef="o_sc" targetRef="o_t"/></bpmn:process>')
    definition = load(document(body, lanes=[("$accepting/window_clerk", ["accept"])],
                               before=collaboration, after=other))
    assert "o_sc" not in definition.spec_json
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1})
    step = bpmn.complete(definition, step.state_json, task_id=step.ready[0].task_id, data={})
    assert (step.finished, step.outcome) == (True, "approved")
    assert not marker.exists()


def test_run_time_errors_leave_the_stored_state_usable():
    """A failing condition raises; the caller keeps the state it had."""
    definition = load(gateway_document("amount > 100000"))
    step = bpmn.start(definition, data={}, agencies={"$accepting": 1})
    with pytest.raises(bpmn.ProcessRuntimeError) as info:
        bpmn.complete(definition, step.state_json, task_id=step.ready[0].task_id, data={})
    assert info.value.render("zh-hans") == "流程运行出错：gw：变量“amount”不存在。"
    again = bpmn.complete(definition, step.state_json, task_id=step.ready[0].task_id,
                          data={"amount": 200000})
    assert again.outcome == "approved"


# XML attacks

XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    + HEAD.split("\n", 1)[1] + "<bpmn:documentation>&xxe;</bpmn:documentation>"
    "</bpmn:definitions>"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
              for i in range(1, 10))
    + ']>\n<lolz>&lol9;</lolz>'
)
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE d SYSTEM "http://127.0.0.1:1/evil.dtd">\n<d/>'


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS, EXTERNAL_DTD],
                         ids=["xxe", "billion-laughs", "external-dtd"])
def test_dtds_and_entities_are_refused(xml):
    with pytest.raises(bpmn.ProcessError) as info:
        load(xml.encode())
    assert info.value.render("zh-hans") == "流程文件含有 DTD 或实体声明，出于安全原因不予接受。"


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS, EXTERNAL_DTD],
                         ids=["xxe", "billion-laughs", "external-dtd"])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32", "cp500", "latin-1"])
def test_other_encodings_are_refused_so_no_dtd_can_hide(xml, encoding):
    """A byte search for <!DOCTYPE cannot see UTF-16 or EBCDIC: only UTF-8 passes
    (and UTF-16 with its byte order mark, read as text first, below)."""
    declared = xml.replace('<?xml version="1.0"?>',
                           f'<?xml version="1.0" encoding="{encoding}"?>')
    with pytest.raises(bpmn.ProcessError) as info:
        load(declared.encode(encoding))
    assert info.value.render("zh-hans") == "流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。"


@pytest.mark.parametrize("xml", [XXE, BILLION_LAUGHS, EXTERNAL_DTD],
                         ids=["xxe", "billion-laughs", "external-dtd"])
def test_utf16_with_a_byte_order_mark_is_read_as_text_so_no_dtd_can_hide(xml):
    declared = xml.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    with pytest.raises(bpmn.ProcessError) as info:
        load(declared.encode("utf-16"))
    assert info.value.render("zh-hans") == "流程文件含有 DTD 或实体声明，出于安全原因不予接受。"


@pytest.mark.parametrize("xml", [XXE, EXTERNAL_DTD, BILLION_LAUGHS],
                         ids=["xxe", "external-dtd", "billion-laughs"])
def test_the_parsed_document_is_checked_for_a_dtd_too(monkeypatch, xml):
    """Defence in depth: with the byte checks bypassed, the parsed tree is refused."""
    monkeypatch.setattr(bpmn.loader, "_check_bytes", lambda data: None)
    with pytest.raises(bpmn.ProcessError) as info:
        load(xml.encode())
    # libxml2 itself stops the billion laughs (entity amplification limit).
    assert info.value.render("zh-hans").startswith((
        "流程文件含有 DTD 或实体声明，出于安全原因不予接受。",
        "流程文件不是有效的 XML：第 ",
    ))


def test_a_string_is_accepted_as_utf8():
    assert load(linear("a").decode()).process_id == "test"


def test_a_string_with_a_lone_surrogate_is_refused_as_not_utf8():
    """A lone surrogate (from a JSON ``\\ud800`` escape) has no UTF-8 form: a
    refusal, not a UnicodeEncodeError (a 500)."""
    with pytest.raises(bpmn.ProcessError) as info:
        load(linear("a").decode().replace("测试流程", "\ud800"))
    assert info.value.render("zh-hans") == "流程文件须为 UTF-8 编码（也可以是带 BOM 的 UTF-16）。"
