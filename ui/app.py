"""advisor in a browser: the questionnaire on one page, the recommendation and its evidence beside it.

A thin shell over the library: the form is derived from `Requirements`, the advice comes from
`recommend()`, measurements from the probe store, downloads from `advisor.cli.formats`; this script
only lays them out. Run it with `python -m advisor ui` (or `streamlit run ui/app.py`).

No Python traceback ever reaches the page: every section is drawn inside `views.guard`, and the
page as a whole inside one more handler, each turning a failure into a one-line message.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, MutableMapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run ui/app.py` only puts ui/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from advisor.core.answers import dump_toml  # noqa: E402
from advisor.core.questionnaire import Requirements  # noqa: E402
from advisor.core.recommendation import ClaimEvidence, Recommendation  # noqa: E402
from advisor.core.registry import registry_in_force  # noqa: E402
from ui import form, views  # noqa: E402

log = logging.getLogger("advisor.ui")

FILE_KEY = "answers:file"
LOADED_KEY = "answers:loaded_id"
MESSAGE_KEY = "answers:message"
USE_MEASUREMENTS_KEY = "calib:use"
PROBE_SUITE_KEY = "probe:suite"
PROBE_FRAMEWORKS_KEY = "probe:frameworks"
PROBE_RUN_KEY = "probe:run"
PROBE_LAST_KEY = "probe:last"
PROBE_SUITES = {"quick": "quick (about a minute per framework)", "tiny": "tiny (seconds)"}
KEPT_KEYS = (
    USE_MEASUREMENTS_KEY,
    PROBE_SUITE_KEY,
    PROBE_FRAMEWORKS_KEY,
    views.EVIDENCE_KEY,
    views.PRIORS_KEY,
)


def session() -> MutableMapping[str, Any]:
    """Streamlit's session state as the plain mapping the form helpers take."""
    return cast("MutableMapping[str, Any]", st.session_state)


# -- library calls, cached per answers ---------------------------------------------------------
def store_path() -> Path | None:
    try:
        from probes.store import default_store_path
    except ImportError:
        return None
    return default_store_path()


def _signature(path: Path | None) -> str:
    """Changes whenever the SQLite store (or its write-ahead log) changes."""
    if path is None:
        return "no-store"
    parts = [str(path)]
    for candidate in (path, path.with_name(path.name + "-wal")):
        try:
            stat = candidate.stat()
            parts.append(f"{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            parts.append("-")
    return "|".join(parts)


@st.cache_resource(show_spinner=False, max_entries=4, ttl=600)
def _measurements(signature: str, _path: Path | None) -> tuple[Any, str | None]:
    """The newest stored probe records for this machine, or why there are none."""
    if _path is None:
        return None, "the probes package is not installed"
    try:
        from advisor.cli.probe import load_measurements

        return load_measurements(_path, datetime.now(timezone.utc)), None
    except Exception as error:
        log.exception("cannot read the probe store")
        return None, views.one_line(error)


@st.cache_resource(show_spinner=False, max_entries=128)
def _recommend(answers: str, measurement_key: str, _req: Requirements, _m: Any) -> Recommendation:
    from advisor.core.engine import recommend

    return recommend(_req, _m)


@st.cache_resource(show_spinner=False, max_entries=64)
def _extras(
    answers: str, measurement_key: str, _req: Requirements, _rec: Recommendation, _m: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """Robustness, what-if and next steps; one that fails is a one-line error, the rest stay."""
    from advisor.core.decision.robustness import analyse_robustness
    from advisor.core.decision.whatif import smallest_flips
    from advisor.core.steps import next_steps

    analyses: dict[str, Callable[[], Any]] = {
        "robustness": lambda: analyse_robustness(_rec),
        "what_if": lambda: smallest_flips(_req, measurements=_m),  # as the ranking was made
        "next_steps": lambda: next_steps(_rec),
    }
    found: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for name, analyse in analyses.items():
        try:
            found[name] = analyse()
        except Exception as error:
            log.exception("%s failed", name)
            failed[name] = views.one_line(error)
    return found, failed


@st.cache_resource(show_spinner=False)
def _claim_lookup() -> dict[str, ClaimEvidence]:
    from advisor.core.engine import claim_evidence
    from advisor.files.knowledge_files import default_knowledge

    kb = default_knowledge()
    return {cid: claim_evidence(claim, kb) for cid, claim in kb.claims.items()}


@st.cache_resource(show_spinner=False)
def _stale_claims(today: date) -> frozenset[str]:
    """The claims past their shelf life today (`advisor claims --stale`), marked in the trail."""
    from advisor.core.currency import claims_due
    from advisor.files.knowledge_files import default_knowledge

    return frozenset(d.claim.id for d in claims_due(default_knowledge(), today))


def _render_format(rec: Recommendation, extras: dict[str, Any], fmt: str) -> str | None:
    try:
        from advisor.cli.formats import Report, render

        return render(Report(rec, extras), fmt)
    except Exception:
        log.exception("cannot render %s", fmt)
        return None


# -- the questionnaire --------------------------------------------------------------------------
def _load_uploaded(spec: tuple[form.FieldSpec, ...]) -> None:
    """Apply a newly uploaded answers file to the widgets (before they are drawn)."""
    state = session()
    uploaded = st.file_uploader(
        "Load answers (TOML or JSON)",
        type=["toml", "json"],
        key=FILE_KEY,
        help="A questionnaire file as the CLI reads it (`advisor recommend --answers FILE`).",
    )
    if uploaded is not None and state.get(LOADED_KEY) != uploaded.file_id:
        state[LOADED_KEY] = uploaded.file_id
        state[MESSAGE_KEY] = form.apply_file(spec, uploaded.name, uploaded.getvalue(), state)
    message = state.get(MESSAGE_KEY)
    if message:
        kind, text = message
        (st.success if kind == "success" else st.error)(text)


def _reset(spec: tuple[form.FieldSpec, ...]) -> None:
    form.apply_answers(spec, {}, session())
    session().pop(MESSAGE_KEY, None)


def questionnaire() -> tuple[Requirements | None, Callable[[], None]]:
    """Read the answers from the widget state; return them (None if invalid) and the form drawer.

    The form is drawn after the results (`draw()`), so the advice reaches the browser first; the
    widget values are already in session state, which is what the form shows.
    """
    spec = form.build_spec(Requirements)
    state = session()
    with st.sidebar:
        st.header("Your project")
        st.caption(
            "Answer what you know; every question has a default. Hover the ? icons for why it "
            "matters. The advice updates as you go."
        )
        with views.guard("the answers file"):
            _load_uploaded(spec)
    form.init_state(spec, state)
    data, problems = form.collect(spec, state)
    model, errors = form.validate(Requirements, spec, data)
    for where, messages in problems.items():
        errors.setdefault(where, []).extend(messages)
    requirements = model if isinstance(model, Requirements) and not problems else None

    def draw() -> None:
        with st.sidebar:
            left, right = st.columns(2)
            with left:
                st.download_button(
                    "Save answers",
                    data=dump_toml(requirements) if requirements else "",
                    file_name="answers.toml",
                    mime="application/toml",
                    key="dl:toml",
                    disabled=requirements is None,
                    on_click="ignore",
                    width="stretch",
                    help="Download them as TOML; the same file works with "
                    "`advisor recommend --answers answers.toml`.",
                )
            with right:
                st.button(
                    "Reset",
                    key="answers:reset",
                    on_click=_reset,
                    args=(spec,),
                    width="stretch",
                    help="Back to the questionnaire's defaults.",
                )
            for message in errors.get("", []):
                st.error(message, icon=":material/error:")
            form.render_form(spec, errors, st)

    return requirements, draw


# -- the result ---------------------------------------------------------------------------------
def probe_controls(path: Path | None) -> None:
    """Run a probe suite with a live progress bar; the advice recomputes afterwards."""
    st.subheader("Measure this machine")
    if path is None:
        st.caption("The probes package is not installed, so nothing can be measured here.")
        return
    state = session()
    state.setdefault(PROBE_SUITE_KEY, "quick")
    frameworks = list(registry_in_force().ids)
    state.setdefault(PROBE_FRAMEWORKS_KEY, frameworks)
    left, middle, right = st.columns([2, 3, 2], vertical_alignment="bottom")
    with left:
        st.selectbox(
            "Suite",
            options=list(PROBE_SUITES),
            key=PROBE_SUITE_KEY,
            format_func=PROBE_SUITES.__getitem__,
            help="The quick suite gives calibration enough figures; tiny only checks "
            "that probing works.",
        )
    with middle:
        st.multiselect(
            "Frameworks",
            options=frameworks,
            key=PROBE_FRAMEWORKS_KEY,
            format_func=form.option_label,
            help="Each runs in its own process (its own interpreter, see advisor.toml).",
        )
    with right:
        clicked = st.button(
            "Run probes",
            key=PROBE_RUN_KEY,
            type="primary",
            icon=":material/play_arrow:",
            disabled=not state[PROBE_FRAMEWORKS_KEY],
            width="stretch",
        )
    st.caption(f"Figures are stored in `{path}` and used for this machine's advice.")
    if clicked:
        bar = st.progress(0.0, text="starting…")

        def report(fraction: float, text: str) -> None:
            bar.progress(fraction, text=text[:200])

        try:
            records = views.run_probe_suite(
                state[PROBE_FRAMEWORKS_KEY],
                state[PROBE_SUITE_KEY],
                path,
                report,
                config_fallback=ROOT / "advisor.toml",
            )
        except Exception as error:
            log.exception("probe run failed")
            st.error(f"The probe run failed: {views.one_line(error)}", icon=":material/error:")
        else:
            state[PROBE_LAST_KEY] = views.summarise_probe_run(records)
            _measurements.clear()
            st.rerun()
    last = state.get(PROBE_LAST_KEY)
    if last:
        summary, problems = last
        st.success(
            f"Last probe run: {summary}. The advice above uses the new figures.",
            icon=":material/check_circle:",
        )
        for problem in problems[:10]:
            st.warning(problem)


def results(requirements: Requirements) -> None:
    state = session()
    state.setdefault(USE_MEASUREMENTS_KEY, True)
    path = store_path()
    signature = _signature(path)
    measurements, problem = (
        _measurements(signature, path) if state[USE_MEASUREMENTS_KEY] else (None, None)
    )
    key = signature if measurements is not None else "none"
    answers = requirements.model_dump_json()
    rec = _recommend(answers, key, requirements, measurements)
    prior = _recommend(answers, "none", requirements, None) if measurements is not None else None
    extras, failed = _extras(answers, key, requirements, rec, measurements)

    with views.guard("the top pick"):
        from advisor.cli.formats.report import describe_requirements

        views.render_top(rec, describe_requirements(requirements))
        views.render_downloads(
            _render_format(rec, extras, "markdown"),
            _render_format(rec, extras, "json"),
            dump_toml(requirements),
        )
    with views.guard("the caveats and exclusions"):
        views.render_alerts(rec)

    st.header("Ranking", divider="gray")
    with views.guard("the ranking"):
        views.render_ranking(rec)

    if "robustness" in extras or "robustness" in failed:
        st.header("How robust is the pick?", divider="gray")
        with views.guard("the robustness analysis"):
            if "robustness" in extras:
                views.render_analysis(extras["robustness"])
            else:
                st.error(f"The robustness analysis failed: {failed['robustness']}")
    for name, title in (("what_if", "What would change the pick"), ("next_steps", "Next steps")):
        if name in extras or name in failed:
            with st.expander(title, expanded=name == "next_steps"), views.guard(title.lower()):
                if name in extras:
                    views.render_analysis(extras[name])
                else:
                    st.error(f"{title} failed: {failed[name]}")

    st.header("Evidence trail", divider="gray")
    st.caption(
        "For each framework: every criterion's prior, the rules that fired with the claims "
        "behind them (verdict as of today, with sources), and what the priors rest on."
    )
    with views.guard("the evidence trail"):
        lookup = _claim_lookup()
        views.render_evidence(rec, lookup.get, _stale_claims(date.today()))

    st.header("Seed claims this advice overrides", divider="gray")
    with views.guard("the overridden claims"):
        views.render_overrides(rec)

    st.header("Calibration with measurements", divider="gray")
    with views.guard("the calibration"):
        st.toggle(
            "Use stored probe measurements",
            key=USE_MEASUREMENTS_KEY,
            help="Blend this machine's measured runtime and memory figures into those two "
            "criteria (`advisor recommend` does the same unless --no-calibrate).",
        )
        if problem:
            st.warning(f"The probe store could not be read: {problem}")
        views.render_calibration(rec, prior, measurements)
    with views.guard("the probe runner"):
        probe_controls(path)
    st.caption(f"knowledge base {rec.knowledge_version} · output format v{rec.output_version}")


def keep_state() -> None:
    """Keep the results' own widget values while invalid answers hide those widgets.

    Streamlit drops the state of widgets a run does not draw; writing a value back through the
    session-state API (before the widget is drawn) keeps it.
    """
    state = session()
    for key in KEPT_KEYS:
        if key in state:
            state[key] = state[key]


def page() -> None:
    keep_state()
    st.title("Which deep-learning framework?")
    st.caption(
        "TensorFlow, PyTorch or MXNet for your project — ranked with cited evidence, "
        "calibrated by measurements on this machine."
    )
    requirements, draw_form = questionnaire()
    try:
        if requirements is None:
            st.warning(
                "Some answers need fixing: see the messages at those fields in the sidebar.",
                icon=":material/edit:",
            )
        else:
            with views.guard("the recommendation"):
                results(requirements)
    finally:  # the form is always drawn, or Streamlit would forget the answers
        draw_form()


def main() -> None:
    st.set_page_config(
        page_title="advisor — which deep-learning framework?",
        page_icon=":material/explore:",
        layout="wide",
        initial_sidebar_state="expanded",
    )
    try:
        page()
    except Exception as error:  # the last line of defence: one line, never a traceback
        log.exception("the page failed")
        st.error(
            f"Something went wrong: {views.one_line(error)}. Reload the page or reset the "
            "answers; details are in the server log.",
            icon=":material/error:",
        )


main()
