"""Performance scoring reports for the supervision office: a PDF and an Excel workbook.

Both show what ``scoring_selectors.score_report`` read: the ranking of the
period with each dimension's score, the weights, then for each agency its
posts and every deduction with its case and rule.  The PDF uses the CJK
font the certificates use (``yizhan.core.pdf``), embedded as a subset, so
it reads the same everywhere; nothing is fetched at run time.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yizhan.core.errors import InvalidInput
from yizhan.core.pdf import cjk_fonts, use_cjk_fonts
from yizhan.core.spreadsheets import append_row
from yizhan.supervision import scoring
from yizhan.supervision.models import Level
from yizhan.supervision.scoring_selectors import AgencyDetail, Report

FAMILY = "cjk"
HEADING_FILL = (226, 232, 240)
INK = (28, 28, 28)
MUTED = (96, 96, 96)

TITLE = _("行政审批电子监察绩效评估")


def _number(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _level(level: str) -> str:
    return str(Level(level).label) if level in Level.values else ""


def deduction_source(deduction) -> str:
    """What a deduction is about: the case and rule of its alert, or the item."""
    if deduction.alert_id:
        return f"{deduction.case.number or deduction.case_id} {deduction.alert.rule.code}"
    if deduction.item_id:
        return deduction.item.impl_code
    if deduction.case_id:
        # A notice (监察督办) issued to the agency.
        return deduction.case.number or str(deduction.case_id)
    return ""


def _texts(report: Report) -> list[str]:
    """Every string the PDF will draw, to choose fallback fonts for rare characters."""
    texts = [str(TITLE), report.board.period.label, *(name for _code, name in
                                                      report.board.columns)]
    if report.board.runs:
        texts.extend(row[3] for row in scheme_rows(report.board.runs[0].scheme))
    for detail in report.details:
        texts.append(detail.row.name)
        texts.extend(post.row.name for post in detail.posts)
        texts.extend(line.note for item in detail.dimensions for line in item.deductions)
        texts.extend(item.dimension.explanation for item in detail.dimensions)
    return texts


def scores_pdf(report: Report, *, generated_at: dt.datetime | None = None) -> bytes:
    """The report as the bytes of a landscape A4 PDF."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    generated_at = generated_at or timezone.now()
    title = f"{TITLE} · {report.board.period.label}"
    footer_text = str(_("第 %(page)s 页"))

    class Document(FPDF):
        def footer(self):
            self.set_y(-10)
            self.set_font(FAMILY, size=7)
            self.set_text_color(*MUTED)
            self.cell(0, 5, footer_text % {"page": self.page_no()}, align="C")

    cjk_fonts()   # says which package to install, before anything is drawn
    pdf = Document(orientation="L", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    use_cjk_fonts(pdf, FAMILY, "".join(_texts(report)))
    pdf.set_title(title)
    pdf.set_subject(str(TITLE))
    pdf.set_creator("一站政务服务平台 Yizhan")
    pdf.set_producer("Yizhan")
    pdf.set_creation_date(generated_at)
    pdf.set_lang("zh-CN")
    pdf.add_page()
    plain = FontFace(emphasis="", fill_color=HEADING_FILL)

    pdf.set_text_color(*INK)
    pdf.set_font(FAMILY, size=16)
    pdf.cell(0, 9, str(TITLE), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=11)
    pdf.cell(0, 7, report.board.period.label, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=8)
    pdf.set_text_color(*MUTED)
    for run in report.board.runs:
        pdf.cell(0, 5, str(_("计算时间：%(at)s　评估方案：v%(version)s　参评机关：%(n)s")) % {
            "at": timezone.localtime(run.computed_at).strftime("%Y-%m-%d %H:%M"),
            "version": run.scheme.version, "n": run.agencies},
            align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_text_color(*INK)

    columns = report.board.columns
    fixed = [10, 52, 16, 14]
    rest = (pdf.epw - sum(fixed)) / max(1, len(columns))
    pdf.set_font(FAMILY, size=7.5)
    with pdf.table(col_widths=[*fixed, *([rest] * len(columns))], text_align="CENTER",
                   headings_style=plain, line_height=4.2, wrapmode="CHAR") as table:
        heading = table.row()
        for text in (_("排名"), _("机关"), _("总分"), _("等级"), *(n for _c, n in columns)):
            heading.cell(str(text))
        for row in report.board.rows:
            line = table.row()
            line.cell(str(row.score.rank))
            line.cell(row.name, align="LEFT")
            line.cell(_number(row.score.total))
            line.cell(row.grade_label)
            for cell in row.cells:
                line.cell(_number(cell.score) if cell else "—")

    pdf.ln(4)
    if report.board.runs:
        _weights(pdf, report.board.runs[0].scheme, plain)
    for detail in report.details:
        _agency(pdf, detail, plain)
    return bytes(pdf.output())


def _heading(pdf, text: str, size: float = 11) -> None:
    pdf.set_font(FAMILY, size=size)
    pdf.set_text_color(*INK)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")


def _weights(pdf, scheme, plain) -> None:
    """The dimensions, their weights and how each is scored."""
    _heading(pdf, str(_("评估指标与权重（评估方案 v%(version)s）")) % {"version": scheme.version})
    pdf.set_font(FAMILY, size=7.5)
    with pdf.table(col_widths=[40, 18, 22, pdf.epw - 80], text_align="LEFT",
                   headings_style=plain, line_height=4.2, wrapmode="CHAR") as table:
        heading = table.row()
        for text in (_("指标"), _("权重"), _("实际权重"), _("计分办法")):
            heading.cell(str(text))
        for dimension, weight, effective, how in scheme_rows(scheme):
            line = table.row()
            line.cell(dimension)
            line.cell(_number(weight))
            line.cell(_number(effective))
            line.cell(how)
    pdf.set_font(FAMILY, size=7.5)
    pdf.cell(0, 6, bands_text(scheme.bands), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def scheme_rows(scheme) -> list[tuple[str, Decimal, Decimal, str]]:
    """(name, weight, effective weight, how it is scored) of each dimension."""
    weights = scoring.effective_weights([scoring.Dimension.read(r) for r in scheme.dimensions])
    return [(row["name"], Decimal(str(row["weight"])),
             weights[row["code"]].quantize(scoring.CENT, ROUND_HALF_UP), scoring.describe(row))
            for row in scheme.dimensions]


def bands_text(bands: dict) -> str:
    return str(_("等级：优秀 ≥ %(excellent)s，良好 ≥ %(good)s，合格 ≥ %(pass)s，"
                 "低于合格线为不合格。")) % bands


def _agency(pdf, detail: AgencyDetail, plain) -> None:
    score = detail.score
    _heading(pdf, str(_("%(rank)s. %(agency)s　总分 %(total)s　%(grade)s")) % {
        "rank": score.rank, "agency": detail.row.name, "total": _number(score.total),
        "grade": detail.row.grade_label})
    pdf.set_font(FAMILY, size=7.5)
    with pdf.table(col_widths=[40, 18, 18, pdf.epw - 76], text_align="LEFT",
                   headings_style=plain, line_height=4.2, wrapmode="CHAR") as table:
        heading = table.row()
        for text in (_("指标"), _("得分"), _("扣分"), _("说明")):
            heading.cell(str(text))
        for item in detail.dimensions:
            line = table.row()
            line.cell(item.dimension.name)
            line.cell(_number(item.dimension.score))
            line.cell(_number(item.dimension.deducted))
            line.cell(item.dimension.explanation)
    deductions = [d for item in detail.dimensions for d in item.deductions]
    names = {item.dimension.code: item.dimension.name for item in detail.dimensions}
    if deductions:
        pdf.ln(2)
        with pdf.table(col_widths=[34, 14, 14, 50, 34, pdf.epw - 146], text_align="LEFT",
                       headings_style=plain, line_height=4.2, wrapmode="CHAR") as table:
            heading = table.row()
            for text in (_("指标"), _("扣分"), _("级别"), _("办件 / 事项"), _("岗位"),
                         _("说明")):
                heading.cell(str(text))
            for deduction in deductions:
                line = table.row()
                line.cell(names.get(deduction.dimension, deduction.dimension))
                line.cell(_number(deduction.points))
                line.cell(_level(deduction.level))
                line.cell(deduction_source(deduction))
                line.cell(deduction.post.name if deduction.post else "—")
                line.cell(deduction.note)
    if detail.posts:
        pdf.ln(2)
        with pdf.table(col_widths=[12, 70, 18, 16, 20], text_align="LEFT", align="LEFT",
                       width=136, headings_style=plain, line_height=4.2,
                       wrapmode="CHAR") as table:
            heading = table.row()
            for text in (_("排名"), _("岗位"), _("总分"), _("等级"), _("计入的预警")):
                heading.cell(str(text))
            for post in detail.posts:
                line = table.row()
                line.cell(str(post.row.score.rank))
                line.cell(post.row.name)
                line.cell(_number(post.row.score.total))
                line.cell(post.row.grade_label)
                line.cell(str(post.row.score.alerts))
    pdf.ln(4)


def scores_excel(report: Report) -> bytes:
    """The report as an Excel workbook: ranking, posts, deductions, dimensions.

    Names and notes are typed by people (an item's name by a catalog editor):
    ``append_row`` writes them as text, never as formulas.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    columns = report.board.columns
    ranking = workbook.active
    ranking.title = str(_("排名"))
    append_row(ranking, [str(_("排名")), str(_("机关")), str(_("总分")), str(_("等级")),
                         str(_("计入的预警")), *(name for _code, name in columns)])
    for row in report.board.rows:
        append_row(ranking, [row.score.rank, row.name, row.score.total, row.grade_label,
                             row.score.alerts, *(cell.score if cell else None
                                                 for cell in row.cells)])

    posts = workbook.create_sheet(str(_("岗位")))
    append_row(posts, [str(_("机关")), str(_("排名")), str(_("岗位")), str(_("总分")),
                       str(_("等级")), str(_("计入的预警"))])
    for detail in report.details:
        for post in detail.posts:
            append_row(posts, [detail.row.name, post.row.score.rank, post.row.name,
                               post.row.score.total, post.row.grade_label,
                               post.row.score.alerts])

    lines = workbook.create_sheet(str(_("扣分明细")))
    append_row(lines, [str(_("机关")), str(_("指标")), str(_("扣分")), str(_("级别")),
                       str(_("办件 / 事项")), str(_("预警编号")), str(_("岗位")),
                       str(_("责任人")), str(_("说明")), str(_("链接"))])
    for detail in report.details:
        names = {item.dimension.code: item.dimension.name for item in detail.dimensions}
        for item in detail.dimensions:
            for deduction in item.deductions:
                append_row(lines, [
                    detail.row.name, names[item.dimension.code], deduction.points,
                    _level(deduction.level), deduction_source(deduction), deduction.alert_id,
                    deduction.post.name if deduction.post else "",
                    str(deduction.alert.responsible or "") if deduction.alert_id else "",
                    deduction.note, deduction.link])

    dimensions = workbook.create_sheet(str(_("各指标得分")))
    append_row(dimensions, [str(_("机关")), str(_("指标")), str(_("权重")),
                            str(_("实际权重")), str(_("得分")), str(_("扣分")), str(_("说明"))])
    for detail in report.details:
        for item in detail.dimensions:
            d = item.dimension
            append_row(dimensions, [detail.row.name, d.name, d.weight, d.effective_weight,
                                    d.score, d.deducted, d.explanation])

    if report.board.runs:
        scheme = report.board.runs[0].scheme
        sheet = workbook.create_sheet(str(_("评估方案")))
        append_row(sheet, [str(_("指标")), str(_("权重")), str(_("实际权重")),
                           str(_("计分办法"))])
        for row in scheme_rows(scheme):
            append_row(sheet, list(row))
        append_row(sheet, [])
        append_row(sheet, [str(_("评估方案 v%(version)s")) % {"version": scheme.version},
                           None, None, bands_text(scheme.bands)])

    for sheet in workbook.worksheets:
        sheet.freeze_panes = "A2"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(60, max(8, width * 2))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


REPORT_TYPES = {
    "pdf": ("application/pdf", scores_pdf),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             scores_excel),
}


def report_response(report: Report, kind: str) -> HttpResponse:
    """The report as a download: ``pdf`` or ``xlsx``."""
    if kind not in REPORT_TYPES:
        raise InvalidInput(_("报表格式须为 pdf 或 xlsx。"), field="format")
    content_type, render_report = REPORT_TYPES[kind]
    response = HttpResponse(render_report(report), content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="scores-{report.board.period.key}.{kind}"')
    return response
