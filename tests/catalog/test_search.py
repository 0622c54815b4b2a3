"""Chinese search over the published catalog (jieba tokens), with filters."""

import lxml.html
import pytest
from django.test import Client
from django.utils import translation

from tests.catalog.helpers import create, editor, publish, published
from tests.factories import item_content
from yizhan import demo
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


@pytest.mark.parametrize("query", ["开餐厅", "开饭馆", "我想开个餐厅", "餐厅", "饭馆"])
def test_the_everyday_words_for_a_restaurant_find_the_restaurant_item(catalog, query):
    """开餐厅 and 开饭馆 are how most people say it; the item says 餐饮店 (and
    餐馆), no item has 餐厅 or 饭馆, and they found nothing, not even the
    items having some of the words."""
    assert _names(query=query) == ["开办餐饮店“一件事”"]


def test_materials_are_searched_too(catalog):
    assert _names(query="检测报告") == ["公共场所卫生许可证核发"]


def test_a_word_not_in_the_catalog_finds_nothing(catalog):
    assert _names(query="宇宙飞船") == []
    assert _names(query="飞船 火箭") == []


def test_when_no_item_has_every_word_the_items_with_most_of_them_come(catalog):
    """食品 飞船: nothing has both, so the items with 食品 are offered rather than
    nothing; with more words, those having more of them come first."""
    assert _names(query="食品 飞船") == _names(query="食品")
    page = Client().get("/services/search/", {"q": "食品 飞船"}).content.decode()
    assert "找到 2 个事项" in page and "以下事项符合其中一部分" in page
    assert "以下事项符合其中一部分" not in Client().get(
        "/services/search/", {"q": "食品"}).content.decode()
    ranked = [v.name for v in selectors.item_search(query="公共场所 卫生 检测 飞船")]
    assert ranked[0] == "公共场所卫生许可证核发"
    # A one-character word (开) alone matches too much to count beside longer ones.
    assert _names(query="开 飞船") == []


def test_a_misspelt_query_ranks_the_item_whose_name_has_the_right_word_first(world):
    """身份症 (症 typed for 证, the same pinyin): no item has every word, so the
    items having 身份 are listed, and the one with 身份 in its name comes before
    the shorter names of items that merely ask for an identity document."""
    published(world, "居民身份证换领、补领", basic_code="QR00101000", themes=["household"])
    for n, name in enumerate(("出生登记", "公司设立登记", "法律援助申请"), start=2):
        published(world, name, basic_code=f"QR00{n}01000",
                  materials=[{"name": "申请人身份证明", "forms": ["original"]}])

    ranked = [v.name for v in selectors.item_search(query="身份症")]

    assert ranked[0] == "居民身份证换领、补领"
    assert sorted(ranked[1:]) == ["公司设立登记", "出生登记", "法律援助申请"]


def test_drafts_are_not_found(catalog):
    assert _names(query="生产") == []
    assert "食品生产许可证核发" not in _names(query="食品生产许可证核发")


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
    assert "食品经营许可证核发（含小餐饮）" not in _names(query="小餐饮")
    publish(world, v2)
    assert _names(query="小餐饮") == ["食品经营许可证核发（含小餐饮）"]
    assert "食品经营许可证核发" not in _names(query="食品经营")


def test_theme_and_agency_counts(world, catalog):
    counts = selectors.theme_counts()
    assert (counts["permits"], counts["health"], counts["birth"]) == (3, 1, 0)
    assert selectors.agencies_with_items() == [(world.agency_a, 2), (world.agency_b, 1)]


def test_a_theme_lists_only_the_items_for_the_applicants_of_its_section(world):
    """个人办事 › 退休养老 lists what a person applies for, not an institution's
    filing (养老机构备案, for legal persons only); an item for both is in both.
    The count beside each theme is the length of the list its link opens."""
    published(world, "养老机构备案", basic_code="QT00101000", themes=["retirement"],
              service_objects=["legal"])
    published(world, "基本养老保险待遇申领", basic_code="JF00101000",
              themes=["retirement"], service_objects=["natural"])
    published(world, "退休人员档案查询", basic_code="GG00101000",
              themes=["retirement"], service_objects=["natural", "legal"])

    assert _names(theme="retirement", service_object="natural") == [
        "基本养老保险待遇申领", "退休人员档案查询"]
    assert _names(theme="retirement", service_object="legal") == [
        "养老机构备案", "退休人员档案查询"]
    assert selectors.theme_counts(service_object="natural")["retirement"] == 2
    assert selectors.theme_counts()["retirement"] == 3


def test_the_theme_links_of_each_section_name_its_applicants(world, django_assert_num_queries):
    """The links of 个人办事 carry for=natural and those of 法人办事 for=legal, and
    each count is of that list: a retiree finds only what a person applies for.
    Counting takes one query a section, however many themes."""
    published(world, "养老机构备案", basic_code="QT00101000", themes=["retirement"],
              service_objects=["legal"])
    published(world, "基本养老保险待遇申领", basic_code="JF00101000",
              themes=["retirement"], service_objects=["natural"])
    client = Client()
    index = lxml.html.fromstring(client.get("/services/").content.decode())
    link = next(a for a in index.xpath('//section[@aria-labelledby="person-themes"]//a')
                if "retirement" in a.get("href"))
    assert link.getnext().text_content() == "1"
    assert all(a.get("href").endswith("&for=legal") for a in index.xpath(
        '//section[@aria-labelledby="enterprise-themes"]//a'))

    page = lxml.html.fromstring(client.get(link.get("href")).content.decode())

    assert [a.text_content() for a in page.xpath('//ul[@class="item-list"]/li/a')] == [
        "基本养老保险待遇申领"]
    # A search from the theme's page stays in it.
    assert page.xpath('//form[@role="search"]//input[@name="for"]/@value') == ["natural"]
    with django_assert_num_queries(1):
        selectors.theme_counts(service_object="natural")


# --- how people type a query ------------------------------------------------------------


def test_a_query_is_read_as_people_type_it():
    """Full width becomes half width (NFKC), everyday words become the catalog's,
    filler words go; a query of filler words only is searched as it is."""
    assert search.parse_query("ＸＫ０４１０１０００").text == "XK04101000"
    assert search.parse_query("  食品　 经营 ").text == "食品 经营"
    assert search.parse_query("如何办理营业执照").phrase == "营业执照"
    assert search.parse_query("我想开公司").phrase == "开公司"
    assert search.parse_query("补办身份证").phrase == "补领身份证"
    assert search.parse_query("个体户").phrase == "个体工商户"
    assert search.parse_query("申请社保卡").phrase == "社会保障卡"
    assert search.parse_query("公司注册").phrase == "公司设立登记"
    assert search.parse_query("法律援助申请").phrase == "法律援助"
    assert search.parse_query("申请").words == ("申请",)
    assert len(search.parse_query(" ".join(f"词{n}" for n in range(30))).words) == 12


def test_full_width_codes_typed_with_a_chinese_input_method_find_the_item(world):
    """A Chinese input method in full-width mode types ＸＫ０４１０１０００: it finds
    the item as the half-width code does, and so does a full-width implementation code."""
    version = published(world, "食品经营许可证核发", basic_code="XK04101000")
    half = version.item.impl_code
    full = half.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    for query in (half, full, "ＸＫ０４１０１０００", "ｘｋ０４１０１０００"):
        assert _names(query=query) == ["食品经营许可证核发"], query
    page = Client().get("/services/search/", {"q": full}).content.decode()
    assert "找到 1 个事项" in page


def test_the_item_named_by_the_query_comes_first(world):
    """Exact name first, then a name containing the query, then a name holding
    every word, then the rest (here: items that only ask for the thing as a
    material); the agency is only a tie-breaker."""
    other = published(world, "社会保障卡申领", basic_code="GG10101000",
                      acceptance_conditions="尚未申领社会保障卡，或需补领、换领",
                      materials=[{"name": "居民身份证"}])
    every_word = published(world, "居民身份证换领、补领", key="b", basic_code="QR09102000")
    containing = published(world, "临时居民身份证补领", key="b", basic_code="QR09103000")
    exact = published(world, "身份证补领", key="b", basic_code="QR09104000")
    assert other.item.agency_id < every_word.item.agency_id
    ranked = [v.name for v in selectors.item_search(query="身份证补领")]
    assert ranked == [exact.name, containing.name, every_word.name, other.name]
    assert [v.name for v in selectors.item_search(query=other.basic_code)] == [other.name]


def test_the_order_holds_across_pages_on_sqlite_and_postgresql(world, catalog):
    """The rank is computed in the query: a slice (a page) of the results is the
    same as the same rows of the whole list."""
    everything = list(selectors.item_search(query="许可"))
    assert [v.pk for v in selectors.item_search(query="许可")[1:3]] == [
        v.pk for v in everything[1:3]]
    assert everything[0].name == "食品经营许可证核发"


# --- the demo city ----------------------------------------------------------------------


def _demo_ranked(query: str) -> list[str]:
    return [v.name for v in selectors.item_search(query=query)]


COMMON_QUERIES = {
    "结婚": "内地居民结婚登记",
    "身份证": "居民身份证换领、补领",
    "食品经营许可": "食品经营许可证核发",
    # What people type, filler words and everyday names included.
    "补办身份证": "居民身份证换领、补领",
    "身份证补办": "居民身份证换领、补领",
    "办理结婚登记": "内地居民结婚登记",
    "申请社保卡": "社会保障卡申领",
    "个体户": "个体工商户设立登记",
    "公司注册": "公司设立登记",
    "申请失业保险金": "失业保险金申领",
    "怎么办理出生登记": "出生登记",
    "开餐厅": "开办餐饮店“一件事”",
    "开饭馆": "开办餐饮店“一件事”",
    "我想开个餐厅": "开办餐饮店“一件事”",
}


@pytest.mark.django_db
def test_common_queries_find_the_obvious_demo_item_first():
    """结婚 used to list 新生儿出生“一件事” first (agency order), 身份证 put the ID-card
    item below twenty items that merely ask for one, and 补办身份证, 办理结婚登记,
    申请社保卡 or 个体户 found nothing at all."""
    demo.load(out=lambda *args: None)
    wrong = {q: _demo_ranked(q)[:3] for q, obvious in COMMON_QUERIES.items()
             if _demo_ranked(q)[:1] != [obvious]}
    assert wrong == {}
    # 营业执照 is no item's name: the items whose result it is come first.
    assert set(_demo_ranked("如何办理营业执照")[:3]) == {
        "公司设立登记", "个体工商户设立登记", "企业开办“一件事”"}
    page = Client().get("/services/search/", {"q": "结婚"}).content.decode()
    assert page.index("内地居民结婚登记") < page.index("新生儿出生“一件事”")


def test_a_long_query_is_read_to_its_first_hundred_characters(world, client):
    """The API takes any length of ``q``: SQLite refuses a LIKE pattern over 50,000
    bytes (a 500) and segmenting grows faster than the text, so every caller is
    held to the search page's limit."""
    from yizhan.catalog.search import MAX_QUERY_CHARS, parse_query

    published(world, "食品经营许可证核发", basic_code="XK04101000")
    parsed = parse_query("我想" * 8000)
    assert len(parsed.text) <= MAX_QUERY_CHARS
    response = client.get("/api/v1/catalog/items", {"q": "食品经营" * 4500})
    assert response.status_code == 200
    assert [item["name"] for item in response.json()] == ["食品经营许可证核发"]


ODD_QUERIES = ["的", "我想办理", "我想", "请问怎么办", "a", "a b c d e f g h i j k l m n o", "%",
               "_", "\\", "'\"", "社保" * 50, "的 的 的", "Ａ", " 　 ", "ﷺ" * 100, "食" * 100,
               "办理" * 50, "x" * 100, "補辦", "营业执照%", "XK04101000", "xk04101000 食品",
               "🙂", "\u200b", "食品\u0301"]


@pytest.mark.parametrize("q", ODD_QUERIES)
def test_odd_queries_get_an_answer_not_a_server_error(world, q):
    """Only filler words, one-character words, wildcards, expanding NFKC forms,
    emoji, combining marks: the page and the API answer, paged."""
    for i in range(3):
        published(world, f"食品经营许可证核发{i}", basic_code=f"XK0410{i}000")
    client = Client(raise_request_exception=False)
    page = client.get("/services/search/", {"q": q})
    assert page.status_code in (200, 400), page.status_code
    api = client.get("/api/v1/catalog/items", {"q": q, "limit": 1, "offset": 1})
    assert api.status_code in (200, 400, 422), api.content


# --- traditional characters and full-width forms ------------------------------------------

# Traditional (as typed in Hong Kong, Macao and Taiwan, or with a traditional
# input method) -> the catalog's simplified characters.  發 and 髮 both become 发,
# 後 后, 臺 and 台 台, 裡 里, 於 于, 證 证, 鬥 斗; 註冊, 委託, 採購 are where a
# converter short of characters leaves 註, 託, 採 behind.
TRADITIONAL = {
    "營業執照": "营业执照",
    "食品經營許可證": "食品经营许可证",
    "開辦餐廳": "开办餐厅",
    "發票": "发票",
    "理髮店衛生許可": "理发店卫生许可",
    "出院之後": "出院之后",
    "臺灣居民來往大陸通行證": "台湾居民来往大陆通行证",
    "台灣": "台湾",
    "這裡": "这里",
    "關於": "关于",
    "出生證明": "出生证明",
    "奮鬥": "奋斗",
    "公司註冊": "公司注册",
    "委託書": "委托书",
    "政府採購": "政府采购",
}


def test_traditional_characters_are_read_as_the_catalogs_simplified_ones():
    for traditional, simplified in TRADITIONAL.items():
        assert search.normalise(traditional) == simplified, traditional
    # Phrases before characters: converted character by character, 著作權 would be
    # 着作权, which no item holds.  Simplified text (抬头, 什么, 皇后) is left as it is.
    assert search.normalise("著作權登記") == "著作权登记"
    for simplified in ("著作权登记", "抬头", "什么", "皇后", "食品经营许可证核发", "ICP 经营"):
        assert search.normalise(simplified) == simplified
    assert search.normalise("ＩＣＰ　經營") == "ICP 经营"


def test_a_traditional_query_is_read_as_its_simplified_one():
    """Before the synonyms and the filler words: 補辦 is 补办, so 补领."""
    assert search.parse_query("營業執照").text == "营业执照"
    assert search.parse_query("如何辦理營業執照").phrase == "营业执照"
    assert search.parse_query("補辦身份證").phrase == "补领身份证"
    assert search.parse_query("個體戶").phrase == "个体工商户"
    assert search.parse_query("申請社保卡").phrase == "社会保障卡"
    assert search.parse_query("食品經營　许可证") == search.parse_query("食品经营 许可证")


def test_traditional_and_mixed_queries_find_the_items(catalog):
    """The catalog is in simplified characters: a query in traditional ones, or in
    both, finds what the simplified query finds, names, conditions and materials."""
    for traditional, simplified in (("食品經營許可證", "食品经营许可证"), ("食品經營", "食品经营"),
                                    ("開餐館", "开餐馆"), ("檢測報告", "检测报告")):
        assert _names(query=traditional) == _names(query=simplified) != [], traditional
    assert _names(query="食品經營許可證") == ["食品经营许可证核发"]
    assert _names(query="公共場所卫生") == ["公共场所卫生许可证核发"]
    assert _names(query="食品經營 许可证核发") == ["食品经营许可证核发"]
    page = Client().get("/services/search/", {"q": "公共場所衛生許可證"}).content.decode()
    assert "找到 1 个事项" in page and "公共场所卫生许可证核发" in page


def test_full_width_and_traditional_item_text_is_found_by_what_people_type(world):
    """An item entered with a Chinese input method in full-width mode (ＩＣＰ), or
    in traditional characters, is found by the half-width and simplified query."""
    published(world, "ＩＣＰ经营许可证核发", basic_code="XK04201000",
              materials=[{"name": "ＧＢ２７６０检测报告", "forms": ["original"], "copies": 1},
                         {"name": "營業執照複印件", "forms": ["copy"], "copies": 1}])
    for query in ("ICP", "icp经营许可", "ＩＣＰ", "GB2760", "gb2760 检测报告", "营业执照复印件",
                  "營業執照複印件"):
        assert _names(query=query) == ["ＩＣＰ经营许可证核发"], query
    response = Client().get("/api/v1/catalog/items", {"q": "GB2760"})
    assert [item["name"] for item in response.json()] == ["ＩＣＰ经营许可证核发"]


# The demo city: each traditional query finds what its simplified one finds.
DEMO_TRADITIONAL = {
    "營業執照": "营业执照",
    "如何辦理營業執照": "如何办理营业执照",
    "食品經營許可證": "食品经营许可证",
    "開辦餐廳": "开办餐厅",
    "補辦身份證": "补办身份证",
    "結婚登記": "结婚登记",
    "申請失業保險金": "申请失业保险金",
}


@pytest.mark.django_db
def test_traditional_queries_find_the_demo_items():
    demo.load(out=lambda *args: None)
    for traditional, simplified in DEMO_TRADITIONAL.items():
        assert _demo_ranked(traditional) == _demo_ranked(simplified) != [], traditional
    assert _demo_ranked("食品經營許可證")[0] == "食品经营许可证核发"
    assert "开办餐饮店“一件事”" in _demo_ranked("開辦餐廳")
    assert set(_demo_ranked("營業執照")[:3]) == {
        "公司设立登记", "个体工商户设立登记", "企业开办“一件事”"}
    page = Client().get("/services/search/", {"q": "營業執照"}).content.decode()
    assert "公司设立登记" in page and "以下事项符合其中一部分" not in page
    api = Client().get("/api/v1/catalog/items", {"q": "食品經營許可證"}).json()
    assert api[0]["name"] == "食品经营许可证核发"


# --- the editor's language and the reader's ---------------------------------------------


def test_items_saved_by_an_editor_using_english_are_found_by_their_theme_in_chinese(world):
    """The themes' labels are indexed in Chinese whoever saves: an item saved
    from the desk in English was indexed as "marriage registration", and 婚姻登记
    no longer found it (its twin saved in Chinese was found)."""
    published(world, "甲事项", themes=["marriage"])
    with translation.override("en"):
        published(world, "乙事项", basic_code="XK00102000", themes=["marriage"])

    assert _names(query="婚姻登记") == ["乙事项", "甲事项"]


def test_an_english_reader_finds_items_by_the_english_names_of_theme_and_type(world):
    """The theme lists and the guide are in English for a foreigner, and item
    names are Chinese only: the English labels of an item's themes and type (as
    those pages show them) find it, whatever language its editor used."""
    published(world, "内地居民结婚登记", basic_code="QR00101000", themes=["marriage"])
    with translation.override("en"):
        published(world, "食品经营许可证核发", basic_code="XK04101000", themes=["permits"])
    client = Client()
    client.cookies["django_language"] = "en"

    page = lxml.html.fromstring(client.get("/services/search/", {"q": "marriage"})
                                .content.decode())

    assert [a.text_content() for a in page.xpath('//ul[@class="item-list"]/li/a')] == [
        "内地居民结婚登记"]
    assert _names(query="Marriage registration") == ["内地居民结婚登记"]
    assert _names(query="licensing") == ["食品经营许可证核发"]


@pytest.mark.parametrize("q", ["spaceship", "shenfenzheng"])
def test_a_query_without_chinese_that_finds_nothing_says_names_are_chinese(world, q):
    """English, or pinyin typed without the input method: told that item names
    are Chinese and led to the theme lists, rather than to try other words."""
    published(world, "内地居民结婚登记", basic_code="QR00101000", themes=["marriage"])

    page = lxml.html.fromstring(Client().get("/services/search/", {"q": q}).content.decode())

    empty = page.xpath('//ul[@class="item-list"]/li')[0]
    assert "事项名称均为中文" in empty.text_content()
    assert empty.xpath(".//a/@href") == ["/services/"]
    chinese = Client().get("/services/search/", {"q": "宇宙飞船"}).content.decode()
    assert "事项名称均为中文" not in chinese and "请换个说法试试" in chinese


# --- the migration that made the stored search text the way queries are read -------------

BEFORE_NORMALISED = ("catalog", "0006_file_names_on_references")
NORMALISED = ("catalog", "0007_search_text_normalised")


def _migrate(target):
    from tests.migrating import migrate, migrate_to_latest

    if target == NORMALISED:
        migrate_to_latest()   # the migration tested, and every one after it
    else:
        migrate(target)


def test_the_migration_recomputes_the_search_text_of_existing_versions(transactional_db,
                                                                       world):
    """Before 0007 the stored text kept full-width letters (ｉ ｃ ｐ) and traditional
    characters, which no query read NFKC and simplified can match; the migration
    makes it again, as a new version's is made; backwards it changes nothing."""
    from yizhan.catalog.models import ItemVersion

    version = published(world, "ＩＣＰ经营许可证核发", basic_code="XK04201000",
                        materials=[{"name": "營業執照複印件", "forms": ["copy"], "copies": 1}])
    made = ItemVersion.objects.get(pk=version.pk).search_text
    as_before = " ｉ ｃ ｐ 经营 许可 许可证 核发 營業 執照 複印 複印件 "
    try:
        _migrate(BEFORE_NORMALISED)
        ItemVersion.objects.filter(pk=version.pk).update(search_text=as_before)
    finally:
        _migrate(NORMALISED)
    assert ItemVersion.objects.get(pk=version.pk).search_text == made
    assert _names(query="ICP") == _names(query="营业执照复印件") == ["ＩＣＰ经营许可证核发"]
    _migrate(BEFORE_NORMALISED)
    try:
        # The text alone: the table there lacks the columns later migrations add.
        assert ItemVersion.objects.values_list("search_text", flat=True).get(
            pk=version.pk) == made
    finally:
        _migrate(NORMALISED)


def test_the_migration_makes_the_search_text_of_existing_versions_in_chinese(
        transactional_db, world):
    """Before 0008 an item saved from the English desk held its theme in English
    and no item held English labels; the migration makes every version's text
    again, as a new version's is made, whatever the language it runs in."""
    from tests.migrating import migrate, migrate_to_latest
    from yizhan.catalog.models import ItemVersion

    version = published(world, "内地居民结婚登记", basic_code="QR00101000",
                        themes=["marriage"])
    made = ItemVersion.objects.get(pk=version.pk).search_text
    as_saved_in_english = " 内地 居民 结婚 登记 甲局 marriage registration "
    try:
        migrate(NORMALISED)
        ItemVersion.objects.filter(pk=version.pk).update(search_text=as_saved_in_english)
    finally:
        with translation.override("en"):
            migrate_to_latest()
    assert ItemVersion.objects.get(pk=version.pk).search_text == made
    assert _names(query="婚姻登记") == _names(query="confirmation") == ["内地居民结婚登记"]


def test_a_renamed_agency_s_items_are_found_by_the_new_name(world, catalog):
    """The agency's name and short name are among its items' search words:
    after a merger renames it (甲局 → 示范市市场监督管理局, short name 市监局),
    its items are found by the new names and no longer by the old one."""
    from yizhan.directory import services as directory_services

    assert "食品经营许可证核发" in _names(query="甲局")
    directory_services.agency_update(actor=world.admin, agency=world.agency_a,
                                     name="示范市市场监督管理局", short_name="市监局")
    assert "食品经营许可证核发" in _names(query="市场监督管理局")
    assert "食品经营许可证核发" in _names(query="市监局")
    assert "食品经营许可证核发" not in _names(query="甲局")
    # The other agency's items keep theirs.
    assert _names(query="公共场所卫生许可证") == ["公共场所卫生许可证核发"]
