"""Tests of dlcourse/history.py: History as a dict of per-epoch lists, monitor_mode."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from dlcourse.history import EpochMeans, History, monitor_mode


def test_history_is_a_dict_of_lists_with_attribute_access() -> None:
    h = History({"train_d_loss": (1.0, 0.5)}, time=[2.0, 3.0])
    assert isinstance(h, dict) and h == {"train_d_loss": [1.0, 0.5], "time": [2.0, 3.0]}
    assert h.train_d_loss is h["train_d_loss"] and h.epochs == 2
    assert History(json.loads(json.dumps(h))) == h
    assert pickle.loads(pickle.dumps(h)) == h and type(pickle.loads(pickle.dumps(h))) is History
    # the standard names read as empty lists until recorded, and record what is appended
    assert h.val_acc == [] and "val_acc" in h
    h.val_acc.append(0.5)
    h.train_loss = (3.0, 2.0)
    assert h["val_acc"] == [0.5] and h["train_loss"] == [3.0, 2.0]
    with pytest.raises(AttributeError, match=r"no attribute 'val_f1' \(recorded keys: "):
        _ = h.val_f1
    with pytest.raises(AttributeError, match=r"History.epochs is read-only"):
        h.epochs = 3
    with pytest.raises(TypeError, match=r"History keys must be str, got int 3"):
        History({3: [1.0]})
    with pytest.raises(TypeError, match=r"data: expected a mapping"):
        History([1.0, 2.0])
    assert History().epochs == 0


def test_metric_and_best_epoch_for_any_key() -> None:
    h = History(train_return=[1.0, float("nan"), 5.0, 5.0], train_g_loss=[3.0, 1.0, 2.0, 1.0],
                val_acc=[0.2, 0.6, 0.6, 0.5])
    assert h.best_epoch("train_return") == 2  # maximised, earliest tie, NaN never wins
    assert h.best_epoch("train_g_loss") == 1
    assert h.best_epoch("train_g_loss", mode="max") == 0
    assert h.best_epoch() == 1  # default val_error: 1 - val_acc
    assert h.metric("val_error") == pytest.approx([0.8, 0.4, 0.4, 0.5])
    copy = h.metric("train_g_loss")
    copy.append(0.0)
    assert len(h.train_g_loss) == 4
    with pytest.raises(ValueError, match=r"monitor: expected one of the recorded keys "
                       r"\['train_return', 'train_g_loss', 'val_acc'\].*got 'val_loss2'"):
        History(train_return=[1.0], train_g_loss=[1.0], val_acc=[1.0], time=[1.0]).metric(
            "val_loss2")
    with pytest.raises(ValueError, match=r"monitor: the history has no val_loss values "
                       r"\(pass val= to fit\)"):
        h.metric("val_loss")
    with pytest.raises(ValueError, match=r"monitor: every recorded value of 'x' is NaN"):
        History(x=[math.nan]).best_epoch("x")
    with pytest.raises(TypeError, match=r"monitor: expected a History key"):
        h.metric(3)


def test_monitor_mode() -> None:
    assert [monitor_mode(k) for k in ("val_acc", "train_accuracy", "val_f1", "train_return",
                                      "val_episode_reward", "val_loss", "val_error", "time")] \
        == ["max"] * 5 + ["min"] * 3
    assert monitor_mode("val_loss", "max") == "max"
    with pytest.raises(ValueError, match=r"mode: expected one of \['auto', 'min', 'max'\]"):
        monitor_mode("val_loss", "best")


def test_append_epoch_keeps_every_list_one_entry_per_epoch() -> None:
    h = History()
    h.append_epoch({"train_loss": 2.0, "time": 1.0})
    h.append_epoch({"train_loss": 1.0, "train_return": 5.0, "time": 1.0})
    h.append_epoch({"train_return": 6.0, "time": 1.0})
    assert h.epochs == 3 and list(h) == ["train_loss", "time", "train_return"]
    np.testing.assert_array_equal(h.train_loss, [2.0, 1.0, np.nan])
    np.testing.assert_array_equal(h.train_return, [np.nan, 5.0, 6.0])


def test_epoch_means_weight_by_batch_size() -> None:
    m = EpochMeans()
    assert m.add({"loss": np.float32(1.0), "acc": np.array(0.5)}, (np.zeros((3, 2)), None)) \
        == {"loss": 1.0, "acc": 0.5}
    m.add({"loss": 4}, np.zeros((1, 5)))  # an array batch of 1 sample
    m.add({"loss": 10.0}, 7)  # not an array: weight 1
    assert m.means() == {"loss": (3 * 1.0 + 4 + 10.0) / 5, "acc": 0.5}
    with pytest.raises(TypeError, match=r"step: expected str -> float in the returned dict"):
        m.add({"loss": "high"})
    with pytest.raises(TypeError, match=r"step: expected step\(batch\) to return a dict"):
        m.add([1.0])
    with pytest.raises(ValueError, match=r"val: expected at least one batch, got none"):
        EpochMeans().means("val")
