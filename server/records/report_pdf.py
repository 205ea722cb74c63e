"""The session report as a PDF (fpdf2), in the reader's language, with an embedded Unicode font.

The font is Debian's DejaVu Sans (package fonts-dejavu-core): it covers Indonesian and the
names students type, and fpdf2 embeds only the glyphs used. Without it there is no PDF, and
``FontMissingError`` says which package to install; no font is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from server.records.report import (
    CONCLUSION_FIELDS,
    EVALUATION_ANSWERS,
    RATINGS,
    SessionReport,
    minutes_seconds,
)

FONT_DIR: Final = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES: Final = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT = "DejaVu"
BRAND_RGB = (11, 110, 79)  # --brand in web/static/style.css
HEADING_FILL = (227, 241, 236)
HEADING_KEEP_MM = 35

Translate = Callable[[str], str]


class FontMissingError(RuntimeError):
    """The PDF's font is not installed."""


def _font_paths(font_dir: Path) -> dict[str, Path]:
    paths = {style: font_dir / name for style, name in FONT_FILES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise FontMissingError(
            f"{', '.join(missing)} missing: install Debian's fonts-dejavu-core "
            "(apt-get install fonts-dejavu-core)"
        )
    return paths


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else value.astimezone().strftime(fmt)


class _Document:
    def __init__(self, t: Translate, font_dir: Path) -> None:
        self.t = t
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        for style, path in _font_paths(font_dir).items():
            pdf.add_font(FONT, style, str(path))
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_margins(15, 15, 15)
        pdf.set_creator("Lingkar")
        self.pdf = pdf

    def heading(self, text: str, size: float = 13) -> None:
        pdf = self.pdf
        # A heading never ends a page: keep room for it and the first lines of its section.
        if pdf.will_page_break(HEADING_KEEP_MM):
            pdf.add_page()
        else:
            pdf.ln(3)
        pdf.set_font(FONT, "B", size)
        pdf.set_text_color(*BRAND_RGB)
        pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.ln(1)

    def text(self, text: str, *, bold: bool = False, size: float = 10) -> None:
        self.pdf.set_font(FONT, "B" if bold else "", size)
        self.pdf.multi_cell(0, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def facts(self, rows: Sequence[tuple[str, str]]) -> None:
        pdf = self.pdf
        for label, value in rows:
            pdf.set_font(FONT, "B", 10)
            pdf.multi_cell(0, 5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(0, 5, value or "—", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
            pdf.ln(1)

    def table(
        self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
    ) -> None:
        if not rows:
            self.text(self.t("report.none"))
            return
        pdf = self.pdf
        pdf.set_font(FONT, "", 8.5)
        with pdf.table(
            col_widths=tuple(widths),
            text_align="LEFT",
            line_height=4.5,
            headings_style=FontFace(emphasis="BOLD", fill_color=HEADING_FILL),
            padding=1,
        ) as table:
            table.row(list(header))
            for values in rows:
                table.row([value or "" for value in values])
        pdf.ln(2)

    def footer_note(self, text: str) -> None:
        self.pdf.set_font(FONT, "", 8)
        self.pdf.set_text_color(74, 85, 96)
        self.pdf.multi_cell(0, 4, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.pdf.set_text_color(0, 0, 0)


def report_pdf(report: SessionReport, t: Translate, *, font_dir: Path = FONT_DIR) -> bytes:
    doc = _Document(t, font_dir)
    pdf = doc.pdf
    s, plan = report.session, report.plan
    pdf.set_title(f"{t('report.title')}: {s.title}")
    pdf.add_page()

    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(74, 85, 96)
    pdf.cell(0, 5, t("report.title"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    doc.heading(s.title, size=16)
    doc.facts(
        [
            (t("report.code"), s.code),
            (t("report.scheduled"), _when(s.scheduled_at) or t("session.not_scheduled")),
            (t("session.field.template"), report.template_name),
            (t("session.status"), t(f"session.status.{s.status}")),
            (t("report.opened"), _when(s.opened_at)),
            (t("report.ended"), _when(s.ended_at)),
        ]
    )
    if report.personal_data_expired:
        doc.text(t("report.expired"), bold=True)
    elif report.expires_at is not None:
        doc.text(f"{t('report.expires')} {_when(report.expires_at, '%Y-%m-%d')}")

    doc.heading(t("plan.title"))
    doc.facts(
        [
            (t("plan.topic"), plan.topic),
            (
                t("plan.topic_kind"),
                t(f"plan.topic_kind.{plan.topic_kind}") if plan.topic_kind else "",
            ),
            (t("plan.field"), t(f"plan.field.{plan.field}") if plan.field else ""),
            (t("plan.goals"), plan.goals),
            (t("plan.materials"), plan.materials),
            (t("plan.evaluation_plan"), plan.evaluation_plan),
            (t("plan.expected_members"), plan.expected_members),
            (t("plan.group_size"), "" if plan.group_size is None else str(plan.group_size)),
        ]
    )

    people = [*report.leaders, *report.observers, *report.group]

    def name_of(name: str | None) -> str:
        return t("report.unnamed") if name is None else name

    doc.heading(t("report.attendance"))
    doc.text(f"{t('report.admitted_count')} {report.admitted_count}")
    doc.table(
        [
            t("report.col.name"),
            t("report.col.role"),
            t("report.col.joined"),
            t("report.col.admitted"),
            t("report.col.left"),
            t("report.col.outcome"),
        ],
        [
            [
                name_of(m.person.name),
                t(f"report.role.{m.person.role}"),
                _when(m.person.joined_at, "%H:%M"),
                _when(m.person.admitted_at, "%H:%M"),
                _when(m.person.left_at, "%H:%M"),
                t(f"report.outcome.{m.person.outcome}") if m.person.outcome else "",
            ]
            for m in people
        ],
        [40, 20, 20, 20, 20, 25],
    )

    doc.heading(t("report.stages"))
    doc.table(
        [
            t("report.col.stage"),
            t("report.col.start"),
            t("report.col.end"),
            t("report.col.minutes"),
        ],
        [
            [
                stage.name,
                _when(stage.started_at, "%H:%M"),
                _when(stage.ended_at, "%H:%M"),
                "" if stage.minutes is None else f"{stage.minutes:.0f}",
            ]
            for stage in report.stages
        ],
        [70, 25, 25, 25],
    )

    doc.heading(t("report.participation"))
    doc.table(
        [
            t("report.col.name"),
            t("report.col.speaking"),
            t("report.col.turns"),
            t("report.col.hands"),
            t("report.col.chats"),
            t("report.col.present"),
        ],
        [
            [
                name_of(m.person.name),
                minutes_seconds(m.figures.speaking_seconds),
                str(m.figures.turns),
                str(m.figures.hands),
                str(m.figures.chats),
                minutes_seconds(m.figures.present_seconds),
            ]
            for m in report.group
            if m.figures is not None
        ],
        [45, 25, 20, 20, 20, 25],
    )

    doc.heading(t("report.observation"))
    noted = [m for m in report.group if m.note is not None]
    doc.table(
        [
            t("report.col.name"),
            *(t(f"report.rating.{name}") for name in RATINGS),
            t("report.col.note"),
        ],
        [
            [
                name_of(m.person.name),
                *(
                    "" if (value := m.note.ratings.get(name)) is None else str(value)
                    for name in RATINGS
                ),
                t("report.unreadable") if m.note.unreadable else m.note.text,
            ]
            for m in noted
            if m.note is not None
        ],
        [28, 24, 26, 32, 70],
    )
    if noted:
        doc.text(
            f"{t('report.rating_averages')} "
            + "; ".join(
                f"{t(f'report.rating.{name}')}: "
                + ("—" if (avg := report.rating_averages.get(name)) is None else f"{avg:.1f}")
                for name in RATINGS
            )
        )

    doc.heading(t("report.evaluation"))
    average = report.evaluation_average
    doc.text(
        f"{t('report.evaluation.count')} {len(report.evaluations)} · "
        f"{t('report.evaluation.average')} {'—' if average is None else f'{average:.1f}'}"
    )
    doc.table(
        [
            t("report.col.name"),
            t("report.col.rating"),
            *(t(f"report.answer.{name}") for name in EVALUATION_ANSWERS),
        ],
        [
            [
                t("report.anonymous") if e.anonymous else name_of(e.name),
                str(e.rating),
                *(
                    t("report.unreadable") if e.unreadable else e.answers.get(name, "")
                    for name in EVALUATION_ANSWERS
                ),
            ]
            for e in report.evaluations
        ],
        [30, 15, 45, 45, 45],
    )

    doc.heading(t("report.conclusions"))
    if report.conclusions.unreadable:
        doc.text(t("report.unreadable"))
    else:
        doc.facts(
            [
                (t(f"report.conclusion.{name}"), getattr(report.conclusions, name))
                for name in CONCLUSION_FIELDS
            ]
        )
    pdf.ln(4)
    doc.footer_note(t("report.no_chat"))
    return bytes(pdf.output())
