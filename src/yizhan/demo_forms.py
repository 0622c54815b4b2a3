"""The demo city's blank forms, filled-in samples and result samples, as PDFs.

Each is one A4 page drawn with fpdf2 and the CJK font of the certificates
(``yizhan.core.pdf.use_cjk_fonts``): the form's name as its title, then a
labelled blank line for each field a real form of that kind asks for (the
applicant's, then those of the form's subject, found by a word of its
name), and a line to sign.  A sample is the same form filled in with made-up
values and marked 填写示例; a result sample is the result document's fields,
marked 样本.  The PDF's dates are fixed, so the same form gives the same
bytes, and the demo stores each once (the catalog keeps files by content).
"""

from datetime import UTC, datetime
from functools import lru_cache

# Fields of every application form.
APPLICANT = ("申请人（单位名称或姓名）", "统一社会信用代码（身份证号码）", "法定代表人（负责人）",
             "住所（地址）", "联系人", "联系电话")
# A word of the form's name, and the fields of such a form; the first match wins.
SUBJECTS = [
    ("一件事", ("店铺名称", "经营场所", "经营面积（平方米）", "就餐座位数", "拟办理事项")),
    ("工程建设项目", ("项目名称", "项目代码", "建设地点", "总建筑面积（平方米）", "拟办理事项")),
    ("小餐饮", ("店铺名称", "经营场所", "经营面积（平方米）", "就餐座位数", "经营项目")),
    ("食品生产", ("生产地址", "食品类别", "生产设备", "食品安全管理人员")),
    ("预包装食品", ("经营场所", "经营项目", "食品安全管理人员")),
    ("食品经营", ("经营场所", "主体业态", "经营项目", "食品安全管理人员")),
    ("个体工商户", ("个体工商户名称", "经营者姓名", "组成形式", "经营场所", "经营范围")),
    ("公司", ("企业名称", "企业类型", "注册资本（万元）", "经营范围", "经营期限")),
    ("注销", ("企业名称", "注销原因", "债权债务清理情况")),
    ("特种设备", ("设备类别", "设备品种", "设备代码", "使用地点", "安全管理人员")),
    ("卫生", ("场所名称", "场所地址", "营业面积（平方米）", "从业人员数")),
    ("医师", ("姓名", "性别", "医师资格证书编码", "执业类别", "执业范围", "拟执业机构")),
    ("医疗机构", ("机构名称", "诊疗科目", "床位数", "执业地点")),
    ("消防", ("场所名称", "场所地址", "建筑面积（平方米）", "使用性质", "消防安全责任人")),
    ("施工", ("工程名称", "建设地址", "建设规模", "合同价格（万元）", "施工单位", "监理单位")),
    ("规划", ("项目名称", "建设位置", "用地面积（平方米）", "建设规模")),
    ("预售", ("项目名称", "预售楼栋", "预售面积（平方米）", "资金监管银行")),
    ("不动产", ("不动产坐落", "不动产单元号", "登记原因", "权利人", "义务人")),
    ("户口", ("迁移人姓名", "公民身份号码", "迁出地址", "迁入地址", "迁移原因", "随迁人员")),
    ("社会保险", ("单位名称", "参保险种", "职工人数", "开户银行", "银行账号")),
    ("人力资源", ("机构名称", "服务范围", "专职工作人员数", "办公场所面积（平方米）")),
    ("社会团体", ("社会团体名称", "业务主管单位", "会员数", "注册资金（万元）")),
    ("养老", ("机构名称", "服务场所地址", "床位数", "服务内容")),
    ("法律援助", ("案由", "家庭经济状况", "请求事项")),
    ("道路", ("经营范围", "拟投入车辆数", "拟开线路", "驾驶人员数")),
    ("取水", ("取水地点", "取水水源", "年取水量（万立方米）", "取水用途", "退水地点")),
    ("污水", ("排水户名称", "排水口位置", "日排水量（立方米）", "主要污染物")),
    ("娱乐", ("场所名称", "场所地址", "营业面积（平方米）", "包厢（房）数", "经营范围")),
]
PROMISE = ("本人（单位）郑重承诺：所填写的信息和提交的材料真实、准确、完整、有效；"
           "已知悉并符合该事项的条件和标准；如有不实，愿承担由此引起的一切法律责任，"
           "并接受行政机关依法撤销相关决定。")
PROMISER = ("承诺人（单位名称或姓名）", "统一社会信用代码（身份证号码）", "法定代表人（负责人）",
            "联系电话")
SIGN = "申请人（承诺人）签字（盖章）：                    年    月    日"
# The values of a filled-in sample, by field; a field not listed says what to write.
EXAMPLE = {
    "申请人（单位名称或姓名）": "示范市××餐饮管理有限公司",
    "统一社会信用代码（身份证号码）": "91449901××××××××××",
    "法定代表人（负责人）": "张××",
    "住所（地址）": "示范市东湖区湖滨路 1 号",
    "联系人": "李××",
    "联系电话": "138××××0000",
    "店铺名称": "湖滨小馆",
    "经营场所": "示范市东湖区湖滨路 1 号一层",
    "经营面积（平方米）": "120",
    "就餐座位数": "40",
    "主体业态": "餐饮服务经营者（小型餐馆）",
    "经营项目": "热食类食品制售、冷食类食品制售",
    "食品安全管理人员": "王××（食品安全管理员）",
    "拟办理事项": "食品经营许可、公共场所卫生许可、消防安全检查",
    "个体工商户名称": "示范市东湖区××小吃店",
    "经营者姓名": "张××",
    "组成形式": "个人经营",
    "经营范围": "餐饮服务",
    "迁移人姓名": "张××",
    "公民身份号码": "449901××××××××××××",
    "迁出地址": "示范市西岭区桃源街道桃源社区",
    "迁入地址": "示范市东湖区湖滨街道湖滨社区",
    "迁移原因": "投靠配偶",
    "随迁人员": "无",
}
# Fields of a result document, by a word of its name; the first match wins.
RESULT_FIELDS = [
    ("营业执照", ("名称", "统一社会信用代码", "类型", "法定代表人", "注册资本", "住所",
                  "经营范围", "成立日期")),
    ("食品经营", ("经营者名称", "统一社会信用代码", "法定代表人（负责人）", "住所",
                  "经营场所", "主体业态", "经营项目", "许可证编号", "有效期至")),
    ("小餐饮", ("经营者名称", "经营场所", "经营项目", "许可证编号", "有效期至")),
    ("卫生", ("单位名称", "法定代表人（负责人）", "地址", "许可项目", "许可证编号",
              "有效期限")),
    ("施工", ("建设单位", "工程名称", "建设地址", "建设规模", "合同价格", "施工单位",
              "监理单位", "合同工期", "编号")),
    ("娱乐", ("单位名称", "法定代表人", "地址", "经营范围", "营业面积", "许可证编号",
              "有效期至")),
]
FIXED_DATE = datetime(2026, 1, 1, tzinfo=UTC)
_FAMILY = "cjk"
# A4, millimetres.
LEFT, RIGHT, LABEL_W = 22.0, 188.0, 66.0


def form_rows(title: str) -> tuple[str, ...]:
    """The fields of the form called ``title``."""
    if "承诺书" in title:
        return PROMISER
    subject = next((fields for word, fields in SUBJECTS if word in title), ())
    return APPLICANT + tuple(f for f in subject if f not in APPLICANT)


def result_rows(title: str) -> tuple[str, ...]:
    fields = next((fields for word, fields in RESULT_FIELDS if word in title), None)
    return fields or ("持证主体", "统一社会信用代码", "地址", "许可事项", "证书编号", "有效期至")


def _document(title: str, text: str):
    from yizhan.core.pdf import new_document

    return new_document(title=title, text=text, created_at=FIXED_DATE,
                        creator="一站政务服务平台 Yizhan（演示数据）",
                        margins=(LEFT, 20, 210 - RIGHT))


def _mark(pdf, word: str) -> None:
    """A large pale word across the page: 填写示例 or 样本."""
    with pdf.local_context(text_color=(235, 200, 200)), pdf.rotation(30, x=105, y=160):
        pdf.set_font(_FAMILY, size=80)
        pdf.text(105 - pdf.get_string_width(word) / 2, 170, word)


# Kept for the process: tests load the demo again and again, and drawing
# the fifty forms is most of what their files cost.
@lru_cache(maxsize=256)
def render_form(title: str, *, issuer: str = "", sample: bool = False) -> bytes:
    """A one-page form: ``title``, its fields as labelled lines, and where to sign.

    A ``sample`` is filled in with ``EXAMPLE`` (a field without an example
    says what to write there) and marked 填写示例 across the page.
    """
    rows = form_rows(title)
    promise = "承诺书" in title
    mark = "填写示例" if sample else ""
    filled = [(label, EXAMPLE.get(label, "（按实际情况填写）") if sample else "")
              for label in rows]
    text = "".join([title, issuer, mark, SIGN, PROMISE if promise else "",
                    "：（）制", *(label + value for label, value in filled)])
    pdf = _document(title, text)
    if mark:
        _mark(pdf, mark)
    pdf.set_font(_FAMILY, size=18)
    pdf.set_xy(LEFT, 22)
    pdf.multi_cell(RIGHT - LEFT, 9, title, align="C", new_x="LEFT", new_y="NEXT")
    y = pdf.get_y() + 6
    pdf.set_font(_FAMILY, size=11)
    if promise:
        pdf.set_xy(LEFT, y)
        pdf.multi_cell(RIGHT - LEFT, 7, "　　" + PROMISE, new_x="LEFT", new_y="NEXT")
        y = pdf.get_y() + 8
    for label, value in filled:
        pdf.text(LEFT, y, label + "：")
        if value:
            pdf.text(LEFT + LABEL_W + 2, y - 0.2, value)
        with pdf.local_context(line_width=0.2):
            pdf.line(LEFT + LABEL_W, y + 1.8, RIGHT, y + 1.8)
        y += 12
    pdf.text(LEFT, y + 10, SIGN)
    if issuer:
        pdf.set_font(_FAMILY, size=9)
        pdf.set_text_color(96, 96, 96)
        pdf.text(LEFT, 282, f"{issuer}制")
    return bytes(pdf.output())


@lru_cache(maxsize=64)
def render_result_sample(title: str, *, issuer: str) -> bytes:
    """A sample of the result document ``title``: its fields, made up, marked 样本."""
    name = title.removesuffix("（样本）")
    rows = [(label, "××××") for label in result_rows(name)]
    text = "".join([name, issuer, "样本发证机关：年月日××", *(label for label, _v in rows)])
    pdf = _document(title, text)
    _mark(pdf, "样本")
    with pdf.local_context(draw_color=(150, 28, 32), line_width=1.2):
        pdf.rect(12, 12, 186, 273)
    pdf.set_font(_FAMILY, size=24)
    pdf.set_xy(LEFT, 34)
    pdf.multi_cell(RIGHT - LEFT, 12, name, align="C", new_x="LEFT", new_y="NEXT")
    y = pdf.get_y() + 12
    pdf.set_font(_FAMILY, size=12)
    for label, value in rows:
        pdf.text(LEFT + 8, y, f"{label}：{value}")
        y += 11
    pdf.text(110, y + 16, f"发证机关：{issuer}")
    pdf.text(110, y + 26, "××××年××月××日")
    return bytes(pdf.output())
