"""The demo city (示范市): a fictional but believable city to try the platform.

Everything is created through the services, so the demo leaves the same
audit trail a real set-up would.  Loading is idempotent: a second run finds
the city and does nothing.  Codes are shaped like real ones (GB/T 2260
division codes, GB 32100 credit codes, GB 11643 ID numbers with correct
check characters) but name no real place, body or person.
"""

import time
from dataclasses import dataclass

from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from stdnum.cn import ric, uscc

from yizhan.accounts.models import User
from yizhan.accounts.services import superuser_create, user_register_public
from yizhan.directory import services
from yizhan.directory.models import Agency, Applicant, Division
from yizhan.directory.roles import Role

DEMO_PASSWORD = "Yizhan@2026"
# The offices the footer names as 主办 and 承办 while the demo city is loaded
# and the installation names none (YIZHAN_SITE_OWNER, YIZHAN_SITE_OPERATOR).
SITE_OWNER = "示范市人民政府办公室"
SITE_OPERATOR = "示范市政务服务数据管理局"
# The accounts that administer or watch the whole city: whoever signs in to
# one of them with the published password holds the platform.
CITY_WIDE_ACCOUNTS = ("admin", "zsj.sysadmin", "zsj.data", "jcj.officer", "jcj.head")
PROVINCE = ("440000", "示范省")
CITY = ("449900", "示范市")
DISTRICTS = [
    ("449901", "东湖区", "dh", ["湖滨街道", "东门街道", "翠竹街道", "莲塘街道"]),
    ("449902", "西岭区", "xl", ["西岭街道", "桃源街道", "南山街道"]),
    ("449903", "南港区", "ng", ["港湾街道", "海景街道", "蛇口街道", "渔村街道"]),
    ("449904", "北山区", "bs", ["北山街道", "松岗街道", "石岩街道"]),
    ("449905", "新城区", "xc", ["新城街道", "科技园街道", "会展街道"]),
    ("449906", "高新区", "gx", ["创业街道", "软件园街道"]),
]
COMMUNITIES = ["社区", "花园社区", "新村社区"]

# (slug, name, short name, kind, posts) for the city's own agencies.
# Posts: (name, role, username suffix).
STANDARD_POSTS = [
    ("受理岗", Role.WINDOW_CLERK, "clerk"),
    ("审查岗", Role.REVIEWER, "reviewer"),
    ("决定岗", Role.AGENCY_HEAD, "head"),
]
CITY_AGENCIES = [
    ("gov", "示范市人民政府", "市政府", "government"),
    ("zsj", "示范市政务服务数据管理局", "市政数局", "department"),
    ("xzfw", "示范市行政服务中心", "市行政服务中心", "service_center"),
    ("jcj", "示范市监察局", "市监察局", "supervision"),
    ("scjg", "示范市市场监督管理局", "市市场监管局", "department"),
    ("zjj", "示范市住房和城乡建设局", "市住建局", "department"),
    ("gtj", "示范市规划和自然资源局", "市规自局", "department"),
    ("wjw", "示范市卫生健康委员会", "市卫健委", "department"),
    ("xf", "示范市消防救援支队", "市消防支队", "department"),
    ("gaj", "示范市公安局", "市公安局", "department"),
    ("rsj", "示范市人力资源和社会保障局", "市人社局", "department"),
    ("fgw", "示范市发展和改革委员会", "市发改委", "department"),
    ("jyj", "示范市教育局", "市教育局", "department"),
    ("mzj", "示范市民政局", "市民政局", "department"),
    ("sfj", "示范市司法局", "市司法局", "department"),
    ("czj", "示范市财政局", "市财政局", "department"),
    ("sthj", "示范市生态环境局", "市生态环境局", "department"),
    ("jtj", "示范市交通运输局", "市交通局", "department"),
    ("swj", "示范市水务局", "市水务局", "department"),
    ("wgl", "示范市文化广电旅游体育局", "市文广旅体局", "department"),
    ("yjj", "示范市应急管理局", "市应急局", "department"),
    ("rd", "示范市人民代表大会常务委员会", "市人大常委会", "congress"),
    ("zx", "中国人民政治协商会议示范市委员会", "市政协", "cppcc"),
    ("fy", "示范市中级人民法院", "市中院", "court"),
    ("jcy", "示范市人民检察院", "市检察院", "procuratorate"),
]
# Agencies without approval work hold only a head's post.
HEAD_ONLY = {"gov", "rd", "zx", "fy", "jcy"}
INTERNAL_UNITS = {
    "scjg": [("djzc", "登记注册处"), ("spjy", "食品经营许可科")],
    "zjj": [("jzgl", "建筑市场监管处")],
}
DISTRICT_AGENCIES = [
    ("gov", "人民政府", "government"),
    ("xzfw", "行政服务中心", "service_center"),
    ("scjg", "市场监督管理局", "department"),
]
CITIZENS = [
    ("zhangwei", "张伟", "449901", "19850312", "13800000001"),
    ("wangfang", "王芳", "449902", "19900705", "13800000002"),
    ("lina", "李娜", "449903", "19721118", "13800000003"),
    ("liuyang", "刘洋", "449905", "19980224", "13800000004"),
    ("chenjing", "陈静", "449904", "19550609", "13800000005"),
]
# (account, name, legal representative, division of registration)
ENTERPRISES = [
    ("hubin.canyin", "示范市湖滨餐饮管理有限公司", "赵强", "449901"),
    ("nangang.jiulou", "示范市南港海鲜酒楼有限公司", "孙丽", "449903"),
    ("xincheng.keji", "示范市新城科技发展有限公司", "周杰", "449905"),
    ("beishan.jianzhu", "示范市北山建筑工程有限公司", "吴刚", "449904"),
]


@dataclass
class DemoAccount:
    username: str
    what: str


def org_code(seed: int) -> str:
    """A 9-character organisation code (GB 11714) with its check digit."""
    body = f"{(seed * 7919 + 10007) % 100000000:08d}"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(registration: str, division: str, seed: int) -> str:
    """A unified social credit code: authority+type, division, org code, check."""
    body = registration + division + org_code(seed)
    return body + uscc.calc_check_digit(body + "0")


def id_number(division: str, birth: str, seq: int, male: bool) -> str:
    order = seq * 2 + (1 if male else 0)
    body = f"{division}{birth}{order:03d}"
    return body + ric.calc_check_digit(body + "0")


def is_loaded() -> bool:
    return Division.objects.filter(code=CITY[0]).exists()


# Every page's footer says whether the demo city is loaded, so each process
# asks the database at most once every LOADED_CHECK_SECONDS rather than once
# a page.  The process that loads the demo forgets its answer at once; a web
# server already running elsewhere learns within that time.
LOADED_CHECK_SECONDS = 60.0
# Replaced by tests to move time forward without sleeping.
_monotonic = time.monotonic
# (when asked, by _monotonic; the answer) or None; replaced, never mutated.
_loaded: tuple[float, bool] | None = None


def is_loaded_cached() -> bool:
    """``is_loaded()``, as this process last found it (at most
    ``LOADED_CHECK_SECONDS`` ago)."""
    global _loaded
    known, now = _loaded, _monotonic()
    if known is None or now - known[0] >= LOADED_CHECK_SECONDS:
        known = _loaded = (now, is_loaded())
    return known[1]


def loaded_cache_clear() -> None:
    """Forget whether the demo city is loaded (after loading it, and in tests,
    whose databases roll back)."""
    global _loaded
    _loaded = None


def accounts_with_published_password() -> list[str]:
    """The city-wide demo accounts (``CITY_WIDE_ACCOUNTS``) still active and
    signed in to with ``DEMO_PASSWORD``, which the README prints; none when
    the demo city is not loaded.

    The demo gives all its staff one password hash, so at most a couple of
    hashes are computed, each a key derivation's time.
    """
    if not is_loaded():
        return []
    verdicts: dict[str, bool] = {}
    found = []
    users = User.objects.filter(username__in=CITY_WIDE_ACCOUNTS, is_active=True)
    for user in users.only("username", "password").order_by("username"):
        if user.password not in verdicts:
            verdicts[user.password] = check_password(DEMO_PASSWORD, user.password)
        if verdicts[user.password]:
            found.append(user.username)
    return found


@transaction.atomic
def load(out=print) -> list[DemoAccount]:
    """Load the demo city unless it is there; return the accounts to print."""
    if is_loaded():
        out("示范市已加载，跳过 / demo city already loaded")
        return accounts()
    admin = User.objects.filter(username="admin").first()
    if admin is None:
        admin = superuser_create(username="admin", password=DEMO_PASSWORD,
                                 full_name="平台管理员")
    services.division_create(actor=admin, code=PROVINCE[0], name=PROVINCE[1])
    city = services.division_create(actor=admin, code=CITY[0], name=CITY[1],
                                    parent_code=PROVINCE[0])
    for code, name, _slug, streets in DISTRICTS:
        services.division_create(actor=admin, code=code, name=name, parent_code=CITY[0])
        for s_index, street in enumerate(streets, start=1):
            s_code = f"{code}{s_index:03d}"
            services.division_create(actor=admin, code=s_code, name=street, parent_code=code)
            for c_index, suffix in enumerate(COMMUNITIES, start=1):
                c_name = street.replace("街道", "") + suffix
                services.division_create(actor=admin, code=f"{s_code}{c_index:03d}",
                                         name=c_name, parent_code=s_code)

    password_hash = make_password(DEMO_PASSWORD)
    seed = 1

    def add_agency(slug, name, short, kind, division_code, parent=None, posts=STANDARD_POSTS):
        nonlocal seed
        seed += 1
        agency = services.agency_create(
            actor=admin, name=name, short_name=short, kind=kind, division_code=division_code,
            credit_code="" if parent else credit_code("11", division_code, seed),
            parent_id=parent.pk if parent else None,
        )
        for post_name, role, suffix in posts:
            post = services.post_create(actor=admin, agency=agency, name=post_name, role=role)
            services.staff_create(
                actor=admin, post=post, username=f"{slug}.{suffix}",
                full_name=f"{short or name}{post_name.replace('岗', '')}员",
                password_hash=password_hash,
            )
        return agency

    by_slug: dict[str, Agency] = {}
    for slug, name, short, kind in CITY_AGENCIES:
        posts = STANDARD_POSTS
        if slug in HEAD_ONLY:
            posts = [("负责人", Role.AGENCY_HEAD, "head")]
        elif slug == "jcj":
            posts = [("监察岗", Role.SUPERVISION_OFFICER, "officer"),
                     ("负责人", Role.AGENCY_HEAD, "head")]
        elif slug == "zsj":
            posts = [("数据管理岗", Role.DATA_OFFICER, "data"),
                     ("系统管理岗", Role.SYSADMIN, "sysadmin"),
                     ("负责人", Role.AGENCY_HEAD, "head")]
        by_slug[slug] = add_agency(slug, name, short, kind, CITY[0], posts=posts)
    for parent_slug, units in INTERNAL_UNITS.items():
        parent = by_slug[parent_slug]
        for slug, name in units:
            add_agency(f"{parent_slug}.{slug}", name, name, "unit", CITY[0], parent=parent,
                       posts=[("审查岗", Role.REVIEWER, "reviewer")])
    for code, district, d_slug, _streets in DISTRICTS:
        for slug, suffix, kind in DISTRICT_AGENCIES:
            add_agency(f"{d_slug}.{slug}", f"示范市{district}{suffix}", f"{district}{suffix}",
                       kind, code,
                       posts=[("负责人", Role.AGENCY_HEAD, "head")] if slug == "gov"
                       else STANDARD_POSTS)

    # The supervision office watches, and the platform administrator
    # administers, every agency of the city: scope by grant, on the record.
    supervision = "《示范市行政审批电子监察办法》第五条：市监察局对全市行政许可实施电子监察"
    grants = [
        ("jcj.officer", Role.SUPERVISION_OFFICER, supervision),
        ("jcj.head", Role.SUPERVISION_OFFICER, supervision),
        ("zsj.sysadmin", Role.SYSADMIN, "市政府办公室关于一站式平台运行维护职责的通知"),
        ("zsj.data", Role.DATA_OFFICER,
         "《示范市政务信息资源共享管理办法》：市政数局统筹全市数据共享"),
    ]
    for username, role, reason in grants:
        services.scope_grant_create(actor=admin, user=User.objects.get(username=username),
                                    role=role, division=city, reason=reason)

    for index, (username, name, division, birth, phone) in enumerate(CITIZENS, start=1):
        services.person_sign_up(
            username=username, full_name=name,
            id_number=id_number(division, birth, index, male=index % 2 == 1),
            password=DEMO_PASSWORD, phone=phone, email=f"{username}@example.com",
        )
    for index, (username, name, rep, division) in enumerate(ENTERPRISES, start=1):
        agent = user_register_public(username=username, full_name=rep,
                                     password=DEMO_PASSWORD, email=f"{username}@example.com")
        services.applicant_register(actor=agent, kind=Applicant.Kind.LEGAL, name=name,
                                    credit_code=credit_code("91", division, 5000 + index),
                                    legal_rep_name=rep, for_self=True)
    load_catalog(admin=admin, reviewer=User.objects.get(username="zsj.data"))
    load_cases()
    loaded_cache_clear()
    transaction.on_commit(loaded_cache_clear)
    out(f"示范市已加载 / demo city loaded: {Division.objects.count()} divisions, "
        f"{Agency.objects.count()} agencies, {User.objects.count()} accounts")
    return accounts()


def load_catalog(*, admin, reviewer) -> int:
    """Import the demo items, then publish them: edited by one, reviewed by another."""
    from importlib import resources

    from yizhan.catalog import services as catalog_services
    from yizhan.catalog import transfer
    from yizhan.catalog.models import ItemVersion

    raw = resources.files("yizhan.catalog").joinpath("fixtures", "demo_items.json").read_bytes()
    records = transfer.read_upload("demo_items.json", raw)
    transfer.catalog_import(actor=admin, records=records, source="demo_items.json")
    drafts = ItemVersion.objects.filter(status=ItemVersion.Status.DRAFT).select_related(
        "item", "item__agency").prefetch_related("materials")
    for version in drafts:
        _attach_demo_files(admin, version)
    for version in drafts:
        catalog_services.item_version_submit(actor=admin, version=version)
        catalog_services.item_version_publish(actor=reviewer, version=version,
                                              note="演示数据审核通过")
    return len(records)


def _attach_demo_files(admin, version) -> None:
    """Real PDFs for the blank forms, samples and result sample the item names.

    Only names ending in .pdf: a name alone (窗口领取) stays text.
    """
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yizhan import demo_forms
    from yizhan.catalog import services as catalog_services

    issuer = version.item.agency.name

    def attach(kind, name, content, order=None):
        catalog_services.item_file_attach(
            actor=admin, version=version, kind=kind, material_order=order,
            upload=SimpleUploadedFile(name, content, content_type="application/pdf"))

    for material in version.materials.all():
        if material.blank_form.endswith(".pdf"):
            attach("blank_form", material.blank_form,
                   demo_forms.render_form(material.name, issuer=issuer), material.order)
        if material.sample.endswith(".pdf"):
            attach("sample", material.sample,
                   demo_forms.render_form(material.name, issuer=issuer, sample=True),
                   material.order)
    if version.result_sample.endswith(".pdf"):
        attach("result_sample", version.result_sample,
               demo_forms.render_result_sample(version.result_sample.removesuffix(".pdf"),
                                               issuer=issuer))


# A one-page PDF standing for a scanned material in the demo cases.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _demo_answers(version) -> dict:
    """Plausible answers to an item's application form."""
    import datetime

    answers = {}
    for field in version.form_fields:
        kind = field["type"]
        if kind == "number":
            answers[field["name"]] = 120
        elif kind == "choice":
            answers[field["name"]] = field["choices"][0]
        elif kind == "date":
            answers[field["name"]] = (datetime.date.today() + datetime.timedelta(days=30)
                                      ).isoformat()
        elif kind == "boolean":
            answers[field["name"]] = False
        else:
            answers[field["name"]] = "湖滨小馆" if field["name"] == "shop_name" else "演示"
    return answers


def _apply(user, applicant, version, key):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yizhan.cases import services as case_services

    case = case_services.case_create(actor=user, item_version=version, applicant=applicant,
                                     data=_demo_answers(version), idempotency_key=key)
    for material in version.materials.all():
        case_services.material_upload(
            actor=user, case=case, material_id=material.pk,
            upload=SimpleUploadedFile(f"{material.name}.pdf", DEMO_PDF,
                                      content_type="application/pdf"))
    case, _code = case_services.case_submit(actor=user, case=case)
    return case


def _complete_next(case, decision="approve", opinion=""):
    from yizhan.cases import services as case_services
    from yizhan.cases.models import Task
    from yizhan.directory.models import Posting

    for task in Task.objects.filter(case=case, status=Task.Status.OPEN).order_by("id"):
        posting = Posting.objects.filter(post__agency_id=task.agency_id,
                                         post__role=task.role).select_related("user").first()
        case_services.task_complete(actor=posting.user, task=task, decision=decision,
                                    opinion=opinion)


# The items of the demo's cases.  The restaurant company tries the joint
# item; the citizen 张伟, a private person without a business, applies for
# something a private person holds (a promised item, served to natural
# persons), not for a licence whose conditions ask for a business licence
# first (食品经营许可证核发: 申请人应当先行取得营业执照).
RESTAURANT_ITEM = "开办餐饮店“一件事”"
CITIZEN_ITEM = "户口迁移（市内迁移）"


def load_cases() -> None:
    """A few applications in different states, so the workbench is not empty."""
    from yizhan.catalog.models import ItemVersion

    published = ItemVersion.objects.filter(status=ItemVersion.Status.PUBLISHED)
    restaurant = published.filter(name=RESTAURANT_ITEM).first()
    household = published.filter(name=CITIZEN_ITEM).first()
    if restaurant is None or household is None:
        return
    hubin = User.objects.get(username="hubin.canyin")
    zhangwei = User.objects.get(username="zhangwei")
    company = Applicant.objects.get(user=hubin)
    person = Applicant.objects.get(user=zhangwei)
    # Waiting for acceptance at the service center's window.
    _apply(hubin, company, restaurant, "demo-restaurant-1")
    # Accepted: the service center's lead review and the three bureaus' in parallel.
    reviewing = _apply(hubin, company, restaurant, "demo-restaurant-2")
    _complete_next(reviewing)
    # A citizen's item through to the end, with its certificate.
    done = _apply(zhangwei, person, household, "demo-citizen-1")
    for _step in range(4):
        _complete_next(done)
    # And one waiting in review.
    waiting = _apply(zhangwei, person, household, "demo-citizen-2")
    _complete_next(waiting)
    # A fee charged above its standard: electronic supervision's red card.
    identity = published.filter(name__startswith="居民身份证换领").first()
    if identity is not None:
        _overcharge(zhangwei, person, identity)
    from yizhan.supervision.detection import sweep

    sweep()


def _overcharge(user, applicant, version):
    from decimal import Decimal

    from yizhan.cases import services as case_services
    from yizhan.directory.models import Posting
    from yizhan.directory.roles import Role

    case = _apply(user, applicant, version, "demo-citizen-3")
    _complete_next(case)
    fee = version.fees.exclude(amount__isnull=True).order_by("order").first()
    clerk = Posting.objects.filter(post__agency_id=case.agency_id,
                                   post__role=Role.WINDOW_CLERK).select_related("user").first()
    if fee is None or clerk is None:
        return
    case_services.case_fee_charge(actor=clerk.user, case=case, fee_id=fee.pk,
                                  amount=fee.amount + Decimal("10"), note="按旧标准收取")
    _notice_overcharge(case)


def _notice_overcharge(case):
    """The supervision office's correction notice on the overcharge, awaiting the reply."""
    from yizhan.supervision import services as supervision_services
    from yizhan.supervision.models import Alert

    alert = Alert.objects.filter(case=case, rule__code="SF-02").first()
    officer = User.objects.filter(username="jcj.officer").first()
    if alert is None or officer is None:
        return
    supervision_services.notice_issue(actor=officer, alert_ids=[alert.pk], content={
        "type": "correction", "title": "关于居民身份证换领超标准收费的纠错通知",
        "facts": f"办件 {case.number} 按旧标准多收费 10 元。",
        "requirements": "退还多收费用，按现行标准收费，并书面报告整改情况。"})


def accounts() -> list[DemoAccount]:
    """The accounts ``yizhan demo`` prints (README's table): who runs and watches
    the city, and everyone the restaurant item needs, step by step, from the
    company's agent to the service center's joint decision."""
    return [
        DemoAccount("admin", "平台超级管理员 / platform superuser"),
        DemoAccount("zsj.sysadmin", "市政数局 系统管理员 / system administrator"),
        DemoAccount("jcj.officer", "市监察局 监察员 / supervision officer"),
        DemoAccount("zsj.data", "市政数局 数据管理员 / data officer"),
        DemoAccount("zhangwei", "市民 张伟 / citizen"),
        DemoAccount("hubin.canyin", "湖滨餐饮公司经办人 / enterprise agent"),
        DemoAccount("xzfw.clerk", "市行政服务中心 窗口受理员（受理） / window clerk"),
        DemoAccount("xzfw.reviewer", "市行政服务中心 审查员（主办机关审查） / lead reviewer"),
        DemoAccount("scjg.reviewer", "市市场监管局 审查员 / reviewer (joint review)"),
        DemoAccount("wjw.reviewer", "市卫健委 审查员 / reviewer (joint review)"),
        DemoAccount("xf.reviewer", "市消防支队 审查员 / reviewer (joint review)"),
        DemoAccount("xzfw.head",
                    "市行政服务中心 负责人（联合决定） / agency head (joint decision)"),
    ]
