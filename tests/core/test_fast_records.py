"""plain_constructor: the record it builds is an ordinary frozen instance of the real class."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass

import pytest

from core.connections.model import TcpConnection, TcpInfo
from core.fast_records import TwoStep, plain_constructor


def test_built_record_equals_init_and_stays_frozen() -> None:
    values = list(range(len(dataclasses.fields(TcpConnection))))
    make = plain_constructor(TcpConnection)
    fast, slow = make(*values), TcpConnection(*values)  # type: ignore[arg-type]
    assert type(fast) is TcpConnection
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.local_port = 1  # type: ignore[misc]
    assert dataclasses.replace(fast, local_port=7).local_port == 7
    assert pickle.loads(pickle.dumps(fast)) == slow


def test_every_field_is_required_and_checked() -> None:
    make = plain_constructor(TcpInfo)
    with pytest.raises(TypeError):
        make(1, 2)


def test_refuses_classes_it_cannot_fill() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, Checked):
        with pytest.raises(TypeError):
            plain_constructor(cls)


def test_two_steps_build_the_record_of_one_and_refuse_unknown_fields() -> None:
    names = [f.name for f in dataclasses.fields(TcpConnection)]
    later = ("owning_process", "holders", "owner_status")  # any order
    values = {name: i for i, name in enumerate(names)}
    steps = TwoStep(TcpConnection, later)
    started = steps.start(*(values[n] for n in names if n not in later))
    assert type(started) is not TcpConnection  # not a record until finished
    rec = steps.finish(started, *(values[n] for n in later))
    assert type(rec) is TcpConnection and rec == TcpConnection(*values.values())  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.local_port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        TwoStep(TcpConnection, ("no_such_field",))
