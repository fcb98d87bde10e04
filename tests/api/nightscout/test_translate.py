"""The Nightscout translation as a parser: any time a phone writes reads back as the same
instant, and no document, however odd, makes it raise (a rejection with a reason instead)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from vigil.api.nightscout.translate import epoch_ms, ns_time, translate
from vigil.device_sim.nightscout import java_date_string, xdrip_entry

instants = st.datetimes(
    min_value=datetime(2001, 1, 1),  # noqa: DTZ001 (hypothesis adds the zone)
    max_value=datetime(2099, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(instants, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_every_written_form_of_a_time_reads_back_as_the_same_instant(
    ts: datetime, offset_min: int
) -> None:
    zone = timezone(timedelta(minutes=offset_min))
    assert ns_time(java_date_string(ts)) == ts
    assert ns_time(ts.astimezone(zone).isoformat()) == ts
    assert ns_time(epoch_ms(ts)) == ts


@given(
    st.lists(
        json_values
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "sgv",
                    "mbg",
                    "date",
                    "dateString",
                    "carbs",
                    "insulin",
                    "created_at",
                    "eventType",
                    "_id",
                    "identifier",
                    "units",
                ]
            ),
            json_values,
            max_size=6,
        ),
        max_size=5,
    )
)
def test_any_documents_are_read_or_rejected_with_a_reason(docs: list[object]) -> None:
    for collection in ("entries", "treatments", "activity", "devicestatus"):
        t = translate(collection, list(docs))  # type: ignore[arg-type]
        handled = {d.index for d in t.documents} | set(t.rejections)
        assert handled == set(range(len(docs)))
        assert all(reason for _, reason in t.rejections.values())
        assert len(t.readings) == len(t.sources)


@given(instants, st.integers(min_value=39, max_value=400))
def test_an_xdrip_entry_is_one_glucose_reading_at_its_date(ts: datetime, sgv: int) -> None:
    t = translate("entries", [xdrip_entry(ts, sgv, None)])
    [reading] = t.readings
    assert datetime.fromisoformat(reading["ts"]) == ts
    assert reading["value"] == ("LOW" if sgv == 39 else sgv)
    assert t.documents[0].dedup_key == f"{epoch_ms(ts)}|sgv"
