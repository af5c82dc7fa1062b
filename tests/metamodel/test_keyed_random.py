import numpy as np

from metaopt.metamodel._keyed_random import id_hashes, keep_smallest, keyed_uniform, poisson_counts


def test_a_draw_depends_on_its_id_and_salt_only():
    ids = [f"task{i}" for i in range(1000)]
    u = keyed_uniform(id_hashes(ids), salt=(0, 3))
    more = keyed_uniform(id_hashes(["new"] + ids[::-1]), salt=(0, 3))[1:][::-1]
    np.testing.assert_array_equal(u, more)                        # other ids and order do not matter
    assert ((u >= 0) & (u < 1)).all() and abs(u.mean() - 0.5) < 0.03
    other = keyed_uniform(id_hashes(ids), salt=(1, 3))
    assert np.corrcoef(u, other)[0, 1] < 0.1                       # another seed, other draws


def test_pairs_of_ids_are_not_the_sum_of_their_parts():
    t, c = id_hashes(["a", "b"]), id_hashes(["x", "y"])
    u = keyed_uniform(t[[0, 0, 1, 1]], c[[0, 1, 0, 1]])
    assert len(set(u.round(12))) == 4 and not np.isclose(u[0] - u[1], u[2] - u[3])


def test_adding_elements_only_drops_old_ones():
    rng = np.random.default_rng(0)
    u = rng.random(1000)
    kept = set(keep_smallest(u, 300))
    grown = set(keep_smallest(np.r_[u, rng.random(200)], 300))
    old_kept_after = {i for i in grown if i < 1000}
    assert old_kept_after <= kept and len(kept - old_kept_after) == len(grown) - len(old_kept_after)
    np.testing.assert_array_equal(keep_smallest(u[:10], 300), np.arange(10))


def test_poisson_counts_bootstrap_like():
    counts = poisson_counts(keyed_uniform(id_hashes(range(100_000)), salt=(7,)))
    assert abs(counts.mean() - 1) < 0.02 and abs(counts.var() - 1) < 0.03
    assert abs((counts == 0).mean() - np.exp(-1)) < 0.01           # as a bootstrap leaves out ~37%


def test_poisson_counts_at_the_edges():
    counts = poisson_counts(np.array([0.0, 0.5, 1 - 2.0 ** -53]))   # the smallest and largest keyed draws
    assert counts[0] == 0 and counts[1] == 1 and 10 < counts[2] < 32
