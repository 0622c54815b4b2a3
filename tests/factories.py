"""Test data, built through the services so it leaves the audit trail.

``build_world()`` makes a small city with two agencies (A and B, A with an
internal unit), one staff member per role in each, a platform
superuser, and a citizen registered as an applicant.  Tests that need
"someone of another agency" use B against A's objects.
"""

import itertools
from dataclasses import dataclass, field

import factory
from django.contrib.auth.hashers import make_password
from stdnum.cn import ric, uscc

from yizhan.accounts.models import SignInFailure, User
from yizhan.accounts.services import superuser_create
from yizhan.directory import services
from yizhan.directory.models import Agency, Applicant, Division
from yizhan.directory.roles import Role

PASSWORD = "Test-pass-2026!"
_seq = itertools.count(1)


def valid_id_number(division: str = "449901", birth: str = "19900101", seq: int | None = None,
                    ) -> str:
    order = next(_seq) % 999 if seq is None else seq
    body = f"{division}{birth}{order:03d}"
    return body + ric.calc_check_digit(body + "0")


def valid_credit_code(seed: int | None = None, division: str = "449900") -> str:
    seed = next(_seq) if seed is None else seed
    body = f"91{division}{seed:08d}0"[:17]
    return body + uscc.calc_check_digit(body)


class SignInFailureFactory(factory.django.DjangoModelFactory):
    """A plain record with no events: factory_boy is enough."""

    class Meta:
        model = SignInFailure

    username = factory.Sequence(lambda n: f"someone{n}")
    ip = "127.0.0.1"
    at = factory.Faker("date_time_this_month", tzinfo=__import__("datetime").UTC)


@dataclass
class World:
    admin: User
    province: Division
    city: Division
    district: Division
    agency_a: Agency
    agency_b: Agency
    unit_a: Agency
    # staff[agency_key][role] -> User, agency_key in {"a", "b"}
    staff: dict[str, dict[str, User]] = field(default_factory=dict)
    posts: dict[str, dict[str, object]] = field(default_factory=dict)
    citizen: User | None = None
    applicant: Applicant | None = None
    city_officer: User | None = None

    def user(self, agency_key: str, role: str) -> User:
        return self.staff[agency_key][role]


_HASH = None


def _password_hash() -> str:
    global _HASH
    if _HASH is None:
        _HASH = make_password(PASSWORD)
    return _HASH


def build_world() -> World:
    admin = superuser_create(username="root", password_hash=_password_hash(),
                             full_name="超级管理员")
    province = services.division_create(actor=admin, code="440000", name="示范省")
    city = services.division_create(actor=admin, code="449900", name="示范市",
                                    parent_code="440000")
    district = services.division_create(actor=admin, code="449901", name="东湖区",
                                        parent_code="449900")
    agency_a = services.agency_create(actor=admin, name="甲局", kind="department",
                                      division_code="449900",
                                      credit_code=valid_credit_code(101, "449900"))
    agency_b = services.agency_create(actor=admin, name="乙局", kind="department",
                                      division_code="449900",
                                      credit_code=valid_credit_code(202, "449900"))
    unit_a = services.agency_create(actor=admin, name="甲局审批科", kind="unit",
                                    division_code="449900", parent_id=agency_a.pk)
    world = World(admin=admin, province=province, city=city, district=district,
                  agency_a=agency_a, agency_b=agency_b, unit_a=unit_a)
    for key, agency in (("a", agency_a), ("b", agency_b)):
        world.staff[key] = {}
        world.posts[key] = {}
        for role in Role.values:
            post = services.post_create(actor=admin, agency=agency, name=f"{role}岗", role=role)
            world.posts[key][role] = post
            world.staff[key][role] = services.staff_create(
                actor=admin, post=post, username=f"{key}.{role}", full_name=f"{key}{role}",
                password_hash=_password_hash(),
            )
    world.citizen = services.person_sign_up(username="citizen", full_name="张三",
                                            id_number=valid_id_number(seq=7),
                                            password=PASSWORD, email="citizen@example.com")
    world.applicant = Applicant.objects.get(user=world.citizen)
    return world


def item_content(name: str = "测试事项", **overrides) -> dict:
    """Valid content of an item version, in the catalog's input shape."""
    content = {
        "name": name, "basic_code": "XK00101000", "exercise_level": "3",
        "legal_basis": "《中华人民共和国行政许可法》", "service_objects": ["natural", "legal"],
        "acceptance_conditions": "符合法定条件", "statutory_limit": 20, "promised_limit": 10,
        "case_type": "promised", "process_template": "promised", "themes": ["permits"],
        "materials": [{"name": "申请书", "forms": ["original"], "copies": 1}],
        "fees": [],
    }
    content.update(overrides)
    return content
