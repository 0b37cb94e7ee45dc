"""ภาพรวม / Overview: what the sample holds, and where the boundaries come from."""

import streamlit as st

from geo.errors import PPAPError
from pages._shared import boundary_attribution, boundary_manifest, sample_headline

SYNTHETIC_LABEL = "ข้อมูลตัวอย่างสังเคราะห์ / synthetic sample"

st.title("ภาพรวม")
st.caption("Overview — PPAP Atlas, the Provincial Poverty Alleviation Platform's map of poor households")
st.info(
    f"**{SYNTHETIC_LABEL}** — ครัวเรือนสมมุติ ไม่ใช่ข้อมูลจริง · generated households, not real people.",
    icon=":material/science:",
)

try:
    headline = sample_headline()
except PPAPError as exc:
    headline = None
    st.error(f"อ่านข้อมูลตัวอย่างไม่ได้ / The sample could not be read: {exc}", icon=":material/error:")
else:
    if headline is None:
        st.warning(
            "ยังไม่มีข้อมูลตัวอย่าง / No sample data yet. Run `make run` "
            "(it generates the sample with `python -m geo sample`).",
            icon=":material/info:",
        )

if headline is not None:
    households_col, people_col = st.columns(2)
    households_col.metric("ครัวเรือน / Households", f"{headline.households:,}")
    people_col.metric("คน / People", f"{headline.people:,}")
    st.caption(f"รอบสำรวจ พ.ศ. {headline.survey_year + 543} · survey round {headline.survey_year}")

try:
    manifest = boundary_manifest()
except PPAPError as exc:
    manifest = None
    st.error(f"อ่านขอบเขตการปกครองไม่ได้ / The boundaries could not be read: {exc}", icon=":material/error:")
else:
    if manifest is None:
        st.warning(
            "ยังไม่ได้ติดตั้งขอบเขตการปกครอง / Boundaries are not installed. Run `make run` "
            "(it installs them with `python -m geo boundaries install`).",
            icon=":material/info:",
        )

st.caption(boundary_attribution(manifest))
