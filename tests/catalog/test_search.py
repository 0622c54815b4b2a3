"""Chinese search over the published catalog (jieba tokens), with filters."""

import pytest

from tests.catalog.helpers import create, editor, publish, published
from tests.factories import item_content
from yizhan.catalog import search, selectors, services

RESTAURANT_CONDITIONS = ("在本市开餐馆、饭店、小吃店等餐饮店，一次申请、并联审批："
                         "食品经营许可和消防安全检查同步办理。")


@pytest.fixture
def catalog(world):
    """Three published items in two agencies, and one draft."""
    food = published(world, "食品经营许可证核发", basic_code="XK04101000",
                     acceptance_conditions="具有与经营的食品品种、数量相适应的场所和设备")
    restaurant = published(world, "开办餐饮店“一件事”", basic_code="XK90001000",
                           process_template="parallel", joint_agencies=["乙局"],
                           acceptance_conditions=RESTAURANT_CONDITIONS,
                           themes=["permits", "establish"])
    hygiene = published(world, "公共场所卫生许可证核发", key="b", basic_code="XK05101000",
                        themes=["health", "permits"],
                        materials=[{"name": "公共场所卫生检测报告"}])
    draft = create(world, "食品生产许可证核发", basic_code="XK04102000")
    return {"food": food, "restaurant": restaurant, "hygiene": hygiene, "draft": draft}


def _names(**kwargs) -> list[str]:
    return sorted(v.name for v in selectors.item_search(**kwargs))


def test_tokens_include_the_short_words_inside_long_ones():
    assert {"食品", "经营", "许可", "许可证", "核发"} <= set(search.tokens("食品经营许可证核发"))
    assert search.tokens("开餐馆") == ["开", "餐馆"]
    assert search.tokens("  ") == []


def test_a_word_inside_the_name_finds_the_item(catalog):
    assert _names(query="食品经营") == ["开办餐饮店“一件事”", "食品经营许可证核发"]
    assert _names(query="许可证核发") == ["公共场所卫生许可证核发", "食品经营许可证核发"]


def test_the_way_people_say_it_finds_the_restaurant_item(catalog):
    assert _names(query="开餐馆") == ["开办餐饮店“一件事”"]
    assert _names(query="餐饮") == ["开办餐饮店“一件事”"]
    assert _names(query="饭店") == ["开办餐饮店“一件事”"]


def test_materials_are_searched_too(catalog):
    assert _names(query="检测报告") == ["公共场所卫生许可证核发"]


def test_a_word_not_in_the_catalog_finds_nothing(catalog):
    assert _names(query="宇宙飞船") == []
    assert _names(query="食品 飞船") == []


def test_drafts_are_not_found(catalog):
    assert _names(query="食品生产") == []


def test_the_impl_code_finds_its_item(catalog):
    code = catalog["hygiene"].item.impl_code
    assert _names(query=code.lower()) == ["公共场所卫生许可证核发"]


def test_theme_and_agency_filters(world, catalog):
    assert _names(theme="health") == ["公共场所卫生许可证核发"]
    assert _names(theme="establish") == ["开办餐饮店“一件事”"]
    assert len(_names(theme="permits")) == 3
    assert _names(theme="marriage") == []
    assert _names(agency_id=world.agency_b.pk) == ["公共场所卫生许可证核发"]
    assert _names(query="许可证", agency_id=world.agency_a.pk) == ["食品经营许可证核发"]
    assert _names(item_type="XK", theme="health") == ["公共场所卫生许可证核发"]
    assert _names(item_type="GG") == []


def test_a_new_version_replaces_the_old_one_in_the_results(world, catalog):
    food = catalog["food"]
    v2 = services.item_version_draft(
        actor=editor(world), item=food.item,
        data=item_content("食品经营许可证核发（含小餐饮）", basic_code="XK04101000"))
    assert _names(query="小餐饮") == []
    publish(world, v2)
    assert _names(query="小餐饮") == ["食品经营许可证核发（含小餐饮）"]
    assert "食品经营许可证核发" not in _names(query="食品经营")


def test_theme_and_agency_counts(world, catalog):
    counts = selectors.theme_counts()
    assert (counts["permits"], counts["health"], counts["birth"]) == (3, 1, 0)
    assert selectors.agencies_with_items() == [(world.agency_a, 2), (world.agency_b, 1)]
