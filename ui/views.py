"""Drawing a Recommendation: tables, charts, evidence, calibration and downloads.

Everything shown comes from the library's output models; no score is computed here. The `*_frame`
and `*_chart` helpers are pure (data in, DataFrame/Altair chart out) so tests can check them
without a page; the `render_*` functions draw with Streamlit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import altair as alt
import pandas as pd  # type: ignore[import-untyped]
import streamlit as st

from advisor.core.criteria import LABELS, Criterion
from advisor.core.recommendation import ClaimEvidence, RankedFramework, Recommendation
from advisor.core.registry import registry_in_force

if TYPE_CHECKING:
    from probes.records import Measurements, ProbeRecord

log = logging.getLogger("advisor.ui")

VERDICT_BADGES = {
    "holds": ":green-badge[holds]",
    "outdated": ":orange-badge[outdated]",
    "wrong": ":red-badge[wrong]",
}
EVIDENCE_KEY = "evidence:framework"
PRIORS_KEY = "evidence:priors"
VARIANTS = ["prior (no measurements)", "calibrated"]
_MD_SPECIAL = "\\`*_[]$~<>#|"


# -- safety -------------------------------------------------------------------------------------
def one_line(error: BaseException) -> str:
    """An exception as one short line for a user (the traceback goes to the server log)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


@contextmanager
def guard(what: str) -> Iterator[None]:
    """Draw a section; if it fails, say so in one line and let the rest of the page draw."""
    try:
        yield
    except Exception as error:
        log.exception("could not show %s", what)
        st.error(f"Could not show {what}: {one_line(error)}", icon=":material/error:")


def md(text: object) -> str:
    """Escape text for st.markdown (claim texts contain $, *, _ and brackets)."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))


def link(label: str, url: str | None) -> str:
    """A markdown link where the source is a web page; anything else stays plain text."""
    if not url or not url.startswith(("https://", "http://")):
        return md(label)
    return f"[{md(label)}]({url.replace(')', '%29').replace(' ', '%20')})"


def sources(claim: ClaimEvidence) -> str:
    """A claim's sources: the seed location, then references linked where they are web pages."""
    parts = [md(claim.source.label)] if claim.source else []
    parts.extend(link(r.label, r.url) for r in claim.references)
    return "; ".join(parts) or md(claim.id)


def claim_lines(claim: ClaimEvidence, indent: str = "", stale: Collection[str] = ()) -> list[str]:
    """A claim with its verdict, sources and the date they were read; a claim past its shelf
    life is marked stale (it should be re-checked before it is relied on)."""
    badge = VERDICT_BADGES.get(claim.verdict.value, md(claim.verdict.value))
    if claim.id in stale:
        dated = f" · **stale**: checked {md(claim.checked or '?')}, past its shelf life"
    else:
        dated = f" · checked {md(claim.checked)}" if claim.checked else ""
    lines = [
        f"{indent}- {badge} {md(claim.text)}  \n{indent}  <small>{sources(claim)}{dated}</small>"
    ]
    if claim.correction:
        lines.append(f"{indent}  - **Today:** {md(claim.correction)}")
    return lines


# -- data frames and charts (pure) ---------------------------------------------------------------
def ranking_frame(rec: Recommendation) -> pd.DataFrame:
    rows = [
        {
            "Rank": str(e.rank),
            "Framework": e.name,
            "Version": e.version,
            "Lifecycle": e.lifecycle,
            "Score": e.score,
        }
        for e in rec.ranking
    ]
    rows += [
        {"Rank": "–", "Framework": x.name, "Version": "", "Lifecycle": "excluded", "Score": None}
        for x in rec.excluded
    ]
    return pd.DataFrame(rows, columns=["Rank", "Framework", "Version", "Lifecycle", "Score"])


def contribution_frame(rec: Recommendation) -> pd.DataFrame:
    """One row per framework and criterion: the points that criterion adds to the 0-100 score."""
    rows = [
        {
            "framework": e.name,
            "rank": e.rank,
            "criterion": LABELS[c.criterion],
            "order": list(Criterion).index(c.criterion),
            "score": c.score,
            "weight": c.weight,
            "points": c.contribution,
        }
        for e in rec.ranking
        for c in e.criteria
    ]
    return pd.DataFrame(
        rows, columns=["framework", "rank", "criterion", "order", "score", "weight", "points"]
    )


def contribution_chart(frame: pd.DataFrame) -> alt.Chart:
    """Each framework's score as stacked bars of criterion contributions."""
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "sum(points):Q", title="score (points of 100)", scale=alt.Scale(domain=[0, 100])
            ),
            y=alt.Y("framework:N", sort=alt.EncodingSortField("rank", op="min"), title=None),
            color=alt.Color(
                "criterion:N",
                sort=alt.EncodingSortField("order", op="min"),
                scale=alt.Scale(scheme="tableau20"),
                legend=alt.Legend(title=None, orient="bottom", columns=4, labelLimit=180),
            ),
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("framework:N"),
                alt.Tooltip("criterion:N"),
                alt.Tooltip("score:Q", title="score (0-5)", format=".2f"),
                alt.Tooltip("weight:Q", format=".2f"),
                alt.Tooltip("points:Q", format=".1f"),
            ],
        )
        .properties(height=alt.Step(44))
    )
    return chart


def criteria_frame(entry: RankedFramework) -> pd.DataFrame:
    rows = []
    for c in entry.criteria:
        adjustments = ", ".join(f"{a.rule} {a.delta:+.2f}" for a in c.adjustments if a.delta)
        rows.append(
            {
                "Criterion": LABELS[c.criterion],
                "Prior": c.prior,
                "Measured": c.calibrated,
                "Rule adjustments": adjustments,
                "Score (0-5)": c.score,
                "Weight": c.weight,
                "Points": c.contribution,
            }
        )
    return pd.DataFrame(rows)


def probe_frame(records: Iterable[ProbeRecord]) -> pd.DataFrame:
    """Stored probe figures, one row each, with their 95 % interval of the median for error bars
    (older records without one: the IQR, else the CV)."""
    from advisor.cli.probe import format_params

    rows = []
    for r in records:
        value = r.value
        iqr = r.spread.iqr
        cv = r.spread.cv
        half = (
            iqr / 2
            if iqr is not None
            else (abs(value) * cv if value is not None and cv is not None else 0.0)
        )
        params = format_params(r.params)
        ci = r.spread.ci95
        low = None if value is None else (ci[0] if ci else value - half)
        high = None if value is None else (ci[1] if ci else value + half)
        rows.append(
            {
                "framework": r.framework,
                "probe": r.probe,
                "params": params,
                "figure": f"{r.probe} {params}".strip() + (f" [{r.unit}]" if r.unit else ""),
                "value": value,
                "unit": r.unit,
                "iqr": iqr,
                "cv": cv,
                "mad": r.spread.mad,
                "n": r.spread.repeats,
                "low": low,
                "high": high,
                "status": r.status.value,
                "noisy": r.details.get("noisy") or "",
                "higher is better": r.higher_is_better,
                "measured (UTC)": r.measured_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M"),
            }
        )
    columns = [
        "framework",
        "probe",
        "params",
        "figure",
        "value",
        "unit",
        "iqr",
        "cv",
        "mad",
        "n",
        "low",
        "high",
        "status",
        "noisy",
        "higher is better",
        "measured (UTC)",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["probe", "params", "framework"]).reset_index(drop=True)


def probe_chart(frame: pd.DataFrame) -> alt.FacetChart | None:
    """One small chart per probe figure: a bar per framework with its spread as an error bar."""
    shown = frame[(frame["status"] == "ok") & frame["value"].notna()]
    if shown.empty:
        return None
    base = alt.Chart().encode(x=alt.X("framework:N", title=None, axis=alt.Axis(labelAngle=0)))
    bars = base.mark_bar().encode(
        y=alt.Y("value:Q", title=None),
        color=alt.Color("framework:N", legend=None),
        tooltip=[
            "framework",
            "figure",
            alt.Tooltip("value:Q", format=".4g"),
            "unit",
            alt.Tooltip("low:Q", format=".4g", title="95% CI low"),
            alt.Tooltip("high:Q", format=".4g", title="95% CI high"),
            alt.Tooltip("mad:Q", format=".3g", title="1.4826 MAD"),
            "n",
            alt.Tooltip("cv:Q", format=".1%"),
            "noisy",
        ],
    )
    spread = base.mark_errorbar(ticks=True).encode(y="low:Q", y2="high:Q")
    chart: alt.FacetChart = (
        alt.layer(bars, spread, data=shown)
        .properties(width=170, height=140)
        .facet(
            facet=alt.Facet("figure:N", title=None, header=alt.Header(labelLimit=220)), columns=3
        )
        .resolve_scale(y="independent")
    )
    return chart


def prior_vs_calibrated_frame(prior: Recommendation, calibrated: Recommendation) -> pd.DataFrame:
    """Total scores without and with measurements, per framework."""
    before = {e.framework: e.score for e in prior.ranking}
    rows = []
    for e in calibrated.ranking:
        rows.append({"framework": e.name, "variant": VARIANTS[0], "score": before.get(e.framework)})
        rows.append({"framework": e.name, "variant": VARIANTS[1], "score": e.score})
    return pd.DataFrame(rows, columns=["framework", "variant", "score"])


def prior_vs_calibrated_chart(frame: pd.DataFrame) -> alt.Chart:
    chart: alt.Chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("framework:N", title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("variant:N", sort=VARIANTS),
            y=alt.Y("score:Q", title="score (0-100)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(
                "variant:N", sort=VARIANTS, legend=alt.Legend(title=None, orient="bottom")
            ),
            tooltip=["framework", "variant", alt.Tooltip("score:Q", format=".1f")],
        )
        .properties(height=240)
    )
    return chart


def calibration_frame(rec: Recommendation) -> pd.DataFrame:
    """Per framework and measured criterion: the prior, the calibrated score and the confidence."""
    rows = []
    for fc in rec.calibration.frameworks:
        for criterion, value in fc.calibrated.items():
            rows.append(
                {
                    "Framework": fc.framework,
                    "Criterion": LABELS[criterion],
                    "Prior": fc.prior.get(criterion),
                    "Calibrated": value,
                    "Confidence": fc.confidence,
                    "Figures": len(fc.figures),
                    "Data age (days)": None if fc.age_days is None else round(fc.age_days, 1),
                }
            )
    return pd.DataFrame(rows)


# -- drawing ------------------------------------------------------------------------------------
def render_top(rec: Recommendation, summary: str) -> None:
    if not rec.ranking:
        st.error(
            "**No framework is eligible**: every one was excluded. Relax the constraints.",
            icon=":material/error:",
        )
        return
    top = rec.ranking[0]
    ahead = (
        f", {rec.margin:.1f} points ahead of {rec.ranking[1].name}"
        if rec.margin is not None and len(rec.ranking) > 1
        else ""
    )
    st.success(
        f"### Top pick: {top.name_with_version}\n{top.score:.1f}/100{ahead}",
        icon=":material/emoji_events:",
    )
    st.caption(f"For: {md(summary)}")


def render_alerts(rec: Recommendation) -> None:
    """Exclusions and caveats, before anything else is read."""
    for x in rec.excluded:
        st.error(
            f"**{x.name} excluded** — " + "; ".join(md(r) for r in x.reasons),
            icon=":material/block:",
        )
    for entry in rec.ranking:
        for caveat in entry.caveats:
            st.warning(f"**{entry.name}:** {md(caveat.message)}", icon=":material/warning:")


def render_ranking(rec: Recommendation) -> None:
    frame = contribution_frame(rec)
    if not frame.empty:
        st.altair_chart(contribution_chart(frame), width="stretch")
        st.caption(
            "Each bar is a framework's score; each segment the points one criterion adds "
            "(its 0-5 score × its weight, see the evidence trail). Hover for the figures."
        )
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.dataframe(
            ranking_frame(rec),
            hide_index=True,
            column_config={
                "Score": st.column_config.ProgressColumn(
                    "Score", min_value=0, max_value=100, format="%.1f"
                )
            },
        )
    top = rec.ranking[0] if rec.ranking else None
    if top is not None and top.reasons:
        with right:
            st.markdown(f"**Why {top.name}**")
            st.markdown(
                "\n".join(
                    f"1. {md(r.summary)} (+{r.points:.1f} pts)"
                    + (f"  \n   <small>{sources(r.claims[0])}</small>" if r.claims else "")
                    for r in top.reasons
                ),
                unsafe_allow_html=True,
            )


def render_evidence(
    rec: Recommendation,
    prior_claims: Callable[[str], ClaimEvidence | None],
    stale: Collection[str] = (),
) -> None:
    """One framework at a time: criteria table, rules that fired with their claims, the priors.

    One at a time keeps the page light: the evidence of all three is a few hundred elements.
    """
    entries = {e.framework: e for e in rec.ranking}
    excluded = {x.framework: x for x in rec.excluded}
    options = [fw for fw in registry_in_force() if fw in entries or fw in excluded]
    if not options:
        return
    names = {
        **{k: e.name for k, e in entries.items()},
        **{k: f"{x.name} (excluded)" for k, x in excluded.items()},
    }
    key = EVIDENCE_KEY
    if st.session_state.get(key) not in options:
        st.session_state[key] = rec.top_pick if rec.top_pick else options[0]
    chosen = st.segmented_control(
        "Framework",
        options=options,
        format_func=names.__getitem__,
        key=key,
        label_visibility="collapsed",
    ) or (rec.top_pick if rec.top_pick else options[0])
    if chosen in excluded:
        st.markdown("\n".join(f"- {md(r)}" for r in excluded[chosen].reasons))
        if excluded[chosen].rules:
            st.caption("rules: " + ", ".join(excluded[chosen].rules))
        return
    entry = entries[chosen]
    st.dataframe(
        criteria_frame(entry),
        hide_index=True,
        height="content",
        column_config={
            **{
                name: st.column_config.NumberColumn(name, format="%.2f")
                for name in ("Prior", "Measured", "Score (0-5)", "Weight")
            },
            "Points": st.column_config.NumberColumn("Points", format="%.1f"),
        },
    )
    if entry.reasons:
        st.markdown("**Strongest reasons**")
        st.markdown(
            "\n".join(
                f"- {md(r.summary)} (+{r.points:.1f} pts)  \n  <small>"
                + "; ".join(sources(c) for c in r.claims[:2])
                + "</small>"
                for r in entry.reasons
            ),
            unsafe_allow_html=True,
        )
    st.markdown(f"**Rules that fired ({len(entry.evidence)})**")
    if not entry.evidence:
        st.caption("No rule touched this framework for these answers.")
    for ev in entry.evidence:
        lines = [
            f"**`{ev.rule}`** ({ev.impact:+.1f} pts) — {md(ev.rationale)}  ",
            f"<small>effects: {md('; '.join(ev.effects))}</small>",
        ]
        for claim in ev.claims:
            lines.extend(claim_lines(claim, stale=stale))
        st.markdown("\n".join(lines), unsafe_allow_html=True)
    if st.toggle("Show the claims behind each prior", key=PRIORS_KEY):
        for c in entry.criteria:
            claims = [p for p in (prior_claims(cid) for cid in c.prior_claims) if p]
            st.markdown(f"**{LABELS[c.criterion]}** — prior {c.prior:.1f}/5")
            if claims:
                st.markdown(
                    "\n".join(line for cl in claims for line in claim_lines(cl, stale=stale)),
                    unsafe_allow_html=True,
                )


def render_overrides(rec: Recommendation, shown: int = 5) -> None:
    """The seed-article claims the advice overturns, with today's correction and its sources."""
    if not rec.overrides:
        st.caption("None of the seed articles' claims that this advice relies on is overturned.")
        return
    st.caption(
        f"{len(rec.overrides)} claims from the seed articles are outdated or wrong today; "
        "the advice above uses the corrections instead."
    )

    def draw(claims: Sequence[ClaimEvidence]) -> None:
        st.markdown(
            "\n".join(line for c in claims for line in claim_lines(c)), unsafe_allow_html=True
        )

    draw(rec.overrides[:shown])
    if len(rec.overrides) > shown:
        with st.expander(f"{len(rec.overrides) - shown} more"):
            draw(rec.overrides[shown:])


def render_calibration_status(rec: Recommendation) -> None:
    cal = rec.calibration
    if cal.used:
        st.info(f"**Measured data is used**: {md(cal.reason)}", icon=":material/straighten:")
    else:
        st.info(f"**Measured data is not used**: {md(cal.reason)}", icon=":material/info:")
    for caveat in cal.caveats:
        st.warning(md(caveat), icon=":material/warning:")


def deployment_matrix_frame(records: Sequence[ProbeRecord]) -> pd.DataFrame | None:
    """Framework (a front-end once per backend) x runtime, as `advisor probe --show` prints it;
    None when the knowledge has no deployment catalogue or no deployment path was measured."""
    from advisor.core.deployment_matrix import deployment_matrix
    from advisor.core.deployment_paths import catalogue_of
    from advisor.core.in_force import knowledge_in_force

    kb = knowledge_in_force()
    catalogue = catalogue_of(kb)
    if catalogue is None or not any(r.probe.startswith("deploy.") for r in records):
        return None
    names = {fw: p.name for fw, p in kb.frameworks.items()}
    backends = {fw: list(p.backends) for fw, p in kb.frameworks.items()}
    rows = deployment_matrix(catalogue, records, names, backends)
    return pd.DataFrame(
        [
            {"Framework": row.label, **{r.name: row.cells[r.id].text for r in catalogue.runtime}}
            for row in rows
        ]
    )


def render_deployment_matrix(records: Sequence[ProbeRecord]) -> None:
    frame = deployment_matrix_frame(records)
    if frame is None:
        return
    st.markdown("**Deployment paths measured on this machine** (conv net, batch 1)")
    st.dataframe(frame, hide_index=True)
    st.caption(
        "Each path exports the same small model and runs the artifact in the target runtime; "
        "the latency is runtime overhead at this size, not framework speed. "
        "`advisor probe --suite deploy` measures every path."
    )


def render_calibration(
    rec: Recommendation, prior: Recommendation | None, measurements: Measurements | None
) -> None:
    render_calibration_status(rec)
    if measurements is not None and measurements.records:
        frame = probe_frame(measurements.records)
        st.markdown(f"**Stored probe figures for this machine** ({len(frame)})")
        chart = probe_chart(frame)
        if chart is not None:
            st.altair_chart(chart)
            st.caption(
                "Bars: newest figure per probe; error bars: the interquartile range of "
                "repeated timings (or ± CV where no IQR was recorded)."
            )
        st.dataframe(
            frame.drop(columns=["figure", "low", "high"]),
            hide_index=True,
            column_config={"cv": st.column_config.NumberColumn("cv", format="percent")},
        )
    if measurements is not None and measurements.records:
        render_deployment_matrix(measurements.records)
    if rec.calibration.frameworks:
        st.markdown("**Prior vs calibrated**")
        left, right = st.columns(2, gap="large")
        with left:
            st.dataframe(
                calibration_frame(rec),
                hide_index=True,
                column_config={
                    name: st.column_config.NumberColumn(name, format="%.2f")
                    for name in ("Prior", "Calibrated", "Confidence")
                },
            )
        if prior is not None:
            with right:
                st.altair_chart(
                    prior_vs_calibrated_chart(prior_vs_calibrated_frame(prior, rec)),
                    width="stretch",
                )


def render_analysis(value: Any) -> None:
    """An optional analysis (robustness, what-if, next steps) whatever its exact shape.

    Known fields are drawn as text, tables or metrics; objects that offer `markdown_lines()` (the
    report formats' contract) are drawn from those lines.
    """
    lines = getattr(value, "markdown_lines", None)
    if callable(lines):
        st.markdown("\n".join(lines()), unsafe_allow_html=False)
        return
    if isinstance(value, list):
        if not value:
            st.caption("Nothing to show.")
            return
        items = [_as_plain(v) for v in value]
        if all(isinstance(i, Mapping) for i in items):
            st.dataframe(pd.DataFrame([_flat(i) for i in items]), hide_index=True)
        else:
            for item in value:
                item_lines = getattr(item, "markdown_lines", None)
                st.markdown("\n".join(item_lines()) if callable(item_lines) else f"- {md(item)}")
        return
    _render_mapping(_as_plain(value))


def _as_plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return value


def _flat(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v if isinstance(v, str | int | float | bool) or v is None else str(v))
        for k, v in item.items()
    }


def _render_mapping(data: Any, depth: int = 0) -> None:
    if not isinstance(data, Mapping):
        st.markdown(md(data))
        return
    for key, value in data.items():
        title = str(key).replace("_", " ").capitalize()
        if isinstance(value, str):
            if any(w in key for w in ("verdict", "summary", "message")):
                st.info(md(value))
            else:
                st.markdown(f"**{title}:** {md(value)}")
        elif isinstance(value, bool) or value is None:
            st.markdown(f"**{title}:** {value}")
        elif isinstance(value, int | float):
            st.metric(title, f"{value:.3g}" if isinstance(value, float) else value)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            st.markdown(f"**{title}**")
            st.dataframe(pd.DataFrame([_flat(v) for v in value]), hide_index=True)
        elif isinstance(value, list):
            st.markdown(f"**{title}:** " + ", ".join(md(v) for v in value))
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, Mapping) for v in value.values())
        ):
            st.markdown(f"**{title}**")
            frame = pd.DataFrame({k: _flat(v) for k, v in value.items()}).T
            st.dataframe(frame)
        elif isinstance(value, Mapping):
            st.markdown(f"**{title}**")
            if depth < 2:
                _render_mapping(value, depth + 1)
            else:
                st.json(value, expanded=False)


def render_downloads(markdown: str | None, json_text: str | None, toml_text: str | None) -> None:
    columns = st.columns(3)
    buttons: Sequence[tuple[str, str | None, str, str, str]] = (
        ("Result as Markdown", markdown, "advisor-recommendation.md", "text/markdown", "dl:md"),
        ("Result as JSON", json_text, "advisor-recommendation.json", "application/json", "dl:json"),
        ("Answers as TOML", toml_text, "answers.toml", "application/toml", "dl:toml-main"),
    )
    for column, (label, data, name, mime, key) in zip(columns, buttons, strict=True):
        with column:
            st.download_button(
                label,
                data=data or "",
                file_name=name,
                mime=mime,
                key=key,
                disabled=data is None,
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )


# -- probes -------------------------------------------------------------------------------------
class ProbeProgress:
    """Turns the runner's events into a fraction done and a line of text for st.progress."""

    def __init__(self, frameworks: Sequence[str], report: Callable[[float, str], None]) -> None:
        self.frameworks = list(frameworks)
        self.report = report
        self.index = -1
        self.expected: int | None = None
        self.done = 0
        self.records = 0

    def _fraction(self) -> float:
        if self.index < 0:
            return 0.0
        if self.expected:
            within = min(self.done / self.expected, 1.0)
        else:  # the suite did not say how many probes: approach 1 without reaching it
            within = 1 - 1 / (1 + self.done / 3)
        return min((self.index + within) / max(len(self.frameworks), 1), 1.0)

    def event(self, event: Any) -> None:
        from advisor.cli.probe import format_params, progress_line
        from probes.runner import FrameworkStarted, ProbeStarted, RecordMade, WorkerReady

        if isinstance(event, FrameworkStarted):
            self.index += 1
            self.expected = len(event.expected) if event.expected else None
            self.done = 0
            text = f"{event.framework}: starting its worker…"
        elif isinstance(event, WorkerReady):
            took = f" in {event.import_seconds:.1f} s" if event.import_seconds else ""
            text = f"{event.framework}: imported{took}"
        elif isinstance(event, ProbeStarted):
            text = (
                " ".join(
                    p for p in (event.framework, event.probe, format_params(event.params)) if p
                )
                + " …"
            )
        elif isinstance(event, RecordMade):
            self.records += 1
            if event.record.probe != "*":
                self.done += 1
            text = progress_line(event.record)
        else:
            return
        self.report(self._fraction(), text)


def run_probe_suite(
    frameworks: Sequence[str],
    suite: str,
    store: Path,
    report: Callable[[float, str], None],
    config_fallback: Path | None = None,
) -> list[ProbeRecord]:
    """Run a probe suite in subprocesses (the probes runner) and store every record as it comes.

    The same settings as `advisor probe --suite SUITE`: interpreters from advisor.toml (the one
    beside the app when none is found from the working directory), cpu, the suite's threads,
    the default timeout, the busy-machine check.
    """
    from advisor.cli.probe import probe_plan
    from probes.config import (
        DEFAULT_TIMEOUT_S,
        Interpreter,
        find_config,
        load_config,
        suite_threads,
    )
    from probes.runner import RunOptions, run_probes
    from probes.store import open_store

    config_path = find_config()
    if config_path is None and config_fallback is not None and config_fallback.is_file():
        config_path = config_fallback
    config = load_config(config_path)
    interpreters = {
        item.framework: Interpreter(item.interpreter, item.source)
        for item in probe_plan(list(frameworks), {}, config)
    }
    options = RunOptions(
        suite=suite,
        device="cpu",
        threads=config.threads or suite_threads(suite),
        timeout_s=config.timeout_s or DEFAULT_TIMEOUT_S,
        host_check=True,
    )
    progress = ProbeProgress(frameworks, report)
    with open_store(store) as db:
        records = run_probes(
            interpreters, options, on_record=lambda r: db.add([r]), on_event=progress.event
        )
    report(1.0, f"done: {len(records)} record(s) stored")
    return records


def summarise_probe_run(records: Sequence[ProbeRecord]) -> tuple[str, list[str]]:
    """A one-line outcome of a probe run and the problems worth showing."""
    ok = sum(1 for r in records if r.status.value == "ok")
    problems = [
        f"{r.framework} {r.probe}: {r.status.value}"
        + (f" — {(r.error or '').splitlines()[0][:160]}" if r.error else "")
        for r in records
        if r.status.value in ("failed", "timeout", "missing")
    ]
    return f"{ok} of {len(records)} figure(s) measured", problems
