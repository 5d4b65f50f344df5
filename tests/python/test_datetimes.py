# SPDX-License-Identifier: Apache-2.0
"""Item 6: the hub says is_timezone_support_enabled, so it stores date-times as UTC instants
and compares them as instants, whatever offset the client wrote them with."""
import arrow
import ftrack_api
import pytest


def make_shots(session):
    seq = session.query('Sequence where name is "sq010"').one()
    # 10:00+02:00 is 08:00Z; 09:00Z is later; 05:30-04:00 is 09:30Z, later still.
    times = {"early": "2025-03-01T10:00:00+02:00", "middle": "2025-03-01T09:00:00Z",
             "late": "2025-03-01T05:30:00-04:00"}
    ids = {}
    for name, when in times.items():
        shot = session.create("Shot", {"name": "tz_" + name, "parent": seq,
                                       "start_date": arrow.get(when)})
        ids[name] = shot["id"]
    session.commit()
    return ids


def test_order_by_compares_instants(session):
    make_shots(session)
    shots = session.query('select name, start_date from Shot where name like "tz_%" '
                          'order by start_date').all()
    assert [s["name"] for s in shots] == ["tz_early", "tz_middle", "tz_late"]
    assert shots[0]["start_date"] == arrow.get("2025-03-01T08:00:00Z")
    assert shots[2]["start_date"] == arrow.get("2025-03-01T09:30:00Z")


def test_filters_compare_instants(session):
    make_shots(session)
    before = session.query('Shot where name like "tz_%" and start_date < "2025-03-01T10:15:00+01:00"')
    assert sorted(s["name"] for s in before) == ["tz_early", "tz_middle"]
    exact = session.query('Shot where start_date is "2025-03-01T11:00:00+02:00"').all()
    assert [s["name"] for s in exact] == ["tz_middle"]
    after = session.query('Shot where name like "tz_%" and start_date after "2025-03-01T09:00:00"')
    assert [s["name"] for s in after] == ["tz_late"]


def test_not_a_datetime_is_refused(session):
    seq = session.query('Sequence where name is "sq010"').one()
    shot = session.create("Shot", {"name": "tz_bad", "parent": seq})
    session.commit()
    with pytest.raises(ftrack_api.exception.ServerError) as error:
        session.call([{"action": "update", "entity_type": "Shot", "entity_key": [shot["id"]],
                       "entity_data": {"end_date": {"__type__": "datetime",
                                                    "value": "next tuesday"}}}])
    assert "must be a date-time" in str(error.value)
    assert session.query('select end_date from Shot where id is "%s"' % shot["id"]).one()["end_date"] is None
