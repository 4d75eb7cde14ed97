"""SessionStore: sessions by image digest (+ object key), bounded LRU by bytes, thread-safe."""
import threading
import time

import numpy as np
import pytest

import focalxl
from focalxl import SessionStore, SessionTooLarge, image_digest


@pytest.fixture
def make_session(fast_segmenter):
    """A session on a tiny image: 10x10 RGB + mask + alpha = 300 + 100 + 400 = 800 bytes."""
    def make(value=0, side=10):
        return fast_segmenter.new_session(np.full((side, side, 3), value, dtype=np.uint8))
    return make


def test_a_tiny_session_holds_its_image_mask_and_alpha_bytes(make_session):
    assert make_session().nbytes == 800


# --- lookup ----------------------------------------------------------------------------

def test_get_returns_the_session_stored_under_the_same_digest_and_key(make_session):
    store, session = SessionStore(), make_session()
    store.put("abc", "obj-1", session)
    assert store.get("abc", "obj-1") is session


def test_get_with_another_digest_returns_none_never_another_images_session(make_session):
    store = SessionStore()
    store.put(image_digest(np.zeros((10, 10, 3), np.uint8)), None, make_session(0))
    assert store.get(image_digest(np.ones((10, 10, 3), np.uint8))) is None
    assert store.get("") is None


def test_get_with_another_object_key_returns_none(make_session):
    store = SessionStore()
    store.put("abc", "obj-1", make_session())
    assert store.get("abc", "obj-2") is None
    assert store.get("abc") is None          # the default key is a key of its own
    assert store.get("abd", "obj-1") is None


def test_sessions_of_two_objects_of_one_image_are_kept_apart(make_session):
    store, first, second = SessionStore(), make_session(), make_session()
    store.put("img", 1, first)
    store.put("img", 2, second)
    assert store.get("img", 1) is first and store.get("img", 2) is second
    assert len(store) == 2


def test_put_under_an_existing_key_replaces_the_session(make_session):
    store, old, new = SessionStore(), make_session(), make_session()
    store.put("img", None, old)
    store.put("img", None, new)
    assert store.get("img") is new and len(store) == 1


def test_get_or_create_returns_the_stored_session_without_creating_one(make_session):
    store, session = SessionStore(), make_session()
    store.put("img", "k", session)
    def create():
        raise AssertionError("create() must not be called for a stored session")
    assert store.get_or_create("img", "k", create) is session


def test_get_or_create_creates_and_keeps_a_missing_session(make_session):
    store, session = SessionStore(), make_session()
    assert store.get_or_create("img", "k", lambda: session) is session
    assert store.get("img", "k") is session


def test_discard_forgets_a_session_and_ignores_unknown_ones(make_session):
    store = SessionStore()
    store.put("img", "k", make_session())
    store.discard("img", "k")
    store.discard("img", "never-stored")
    assert store.get("img", "k") is None and len(store) == 0


@pytest.mark.parametrize("bound", [0, -1])
def test_store_bound_must_be_positive(bound):
    with pytest.raises(ValueError, match="max_bytes"):
        SessionStore(max_bytes=bound)


# --- LRU eviction by bytes -------------------------------------------------------------

def test_store_evicts_the_least_recently_used_session_when_over_its_byte_bound(make_session):
    store = SessionStore(max_bytes=2500)                       # room for three 800-byte sessions
    sessions = [make_session() for _ in range(4)]
    for i, session in enumerate(sessions[:3]):
        store.put(f"img{i}", None, session)
    assert len(store) == 3 and store.nbytes == 2400
    store.put("img3", None, sessions[3])
    assert store.get("img0") is None
    assert [store.get(f"img{i}") for i in (1, 2, 3)] == sessions[1:]
    assert store.nbytes <= 2500


def test_get_makes_a_session_recently_used_so_it_survives_eviction(make_session):
    store = SessionStore(max_bytes=2500)
    for i in range(3):
        store.put(f"img{i}", None, make_session())
    store.get("img0")                                           # img1 is now the oldest
    store.put("img3", None, make_session())
    assert store.get("img0") is not None
    assert store.get("img1") is None


def test_get_or_create_of_a_stored_session_also_makes_it_recently_used(make_session):
    store = SessionStore(max_bytes=2500)
    for i in range(3):
        store.put(f"img{i}", None, make_session())
    store.get_or_create("img0", None, make_session)
    store.put("img3", None, make_session())
    assert store.get("img0") is not None and store.get("img1") is None


def test_eviction_is_by_bytes_so_one_big_session_pushes_out_several_small_ones(make_session):
    store = SessionStore(max_bytes=4000)
    for i in range(4):
        store.put(f"small{i}", None, make_session())            # 4 x 800 = 3200
    big = make_session(side=20)                                  # 1200 + 400 + 1600 = 3200
    store.put("big", None, big)
    assert store.get("big") is big
    assert store.nbytes <= 4000
    assert store.get("small0") is None and store.get("small1") is None and store.get("small2") is None
    assert store.get("small3") is not None                       # 800 + 3200 fits


def test_a_session_alone_over_the_cap_is_refused_and_the_others_stay(make_session):
    store = SessionStore(max_bytes=1000)
    small = make_session()
    store.put("small", None, small)
    with pytest.raises(SessionTooLarge, match=r"needs 0\.0 MiB, over the session store's cap of 0\.0 MiB") as refused:
        store.put("huge", None, make_session(side=40))                # 12800 bytes
    assert (refused.value.nbytes, refused.value.max_bytes) == (12800, 1000)
    assert store.get("huge") is None and store.get("small") is small and store.nbytes == 800


def test_a_refused_put_under_a_used_key_drops_the_old_session_too(make_session):
    store = SessionStore(max_bytes=1000)
    store.put("img", None, make_session())
    with pytest.raises(SessionTooLarge):
        store.put("img", None, make_session(side=40))
    assert store.get("img") is None and len(store) == 0


def test_get_or_create_refuses_a_new_session_over_the_cap(make_session):
    store = SessionStore(max_bytes=1000)
    with pytest.raises(SessionTooLarge):
        store.get_or_create("img", "obj", lambda: make_session(side=40))
    assert len(store) == 0


def test_admit_refuses_before_a_session_is_built(fast_segmenter):
    from focalxl import Session

    store = SessionStore(max_bytes=256 * 2 ** 20)
    store.admit(Session.least_nbytes((4000, 3000)))                     # 91.6 MiB fits
    with pytest.raises(SessionTooLarge, match=r"needs 373\.8 MiB, over the session store's cap of 256\.0 MiB"):
        store.admit(Session.least_nbytes((7000, 7000)))


def test_a_session_that_outgrew_the_cap_is_dropped_on_update_and_the_store_never_holds_more(fast_segmenter):
    image = np.zeros((60, 60, 3), np.uint8)
    image[20:40, 20:40] = 255
    session = fast_segmenter.new_session(image)
    store = SessionStore(max_bytes=session.nbytes + 2000)
    store.put("img", None, session)
    assert store.update("img") is True
    while session.nbytes <= store.max_bytes:                           # undo patches accumulate
        session.add(focalxl.Click(30.0 + len(session.history) % 7, 30.0, positive=len(session.history) % 2 == 0))
    assert store.update("img") is False
    assert store.get("img") is None and store.nbytes == 0
    assert store.update("img") is False                                 # nothing left to update


def test_update_evicts_older_sessions_to_make_room_for_a_grown_one(make_session, fast_segmenter):
    image = np.zeros((30, 30, 3), np.uint8)
    image[10:20, 10:20] = 255
    grown, click = fast_segmenter.new_session(image), focalxl.Click(15.0, 15.0)
    before = grown.nbytes
    grown.add(click)
    after = grown.nbytes
    grown.undo()
    assert after - before > 400
    store = SessionStore(max_bytes=after + 400)                        # room for the old one only before the click
    store.put("old", None, make_session())
    store.put("grown", None, grown)
    assert store.get("old") is not None
    grown.add(click)
    assert store.update("grown") is True
    assert store.get("old") is None and store.nbytes <= store.max_bytes


@pytest.mark.parametrize("sides", [[10, 40, 10, 20, 30], [50, 10, 10, 10], [20] * 6])
def test_after_every_store_call_the_store_holds_at_most_its_cap(make_session, sides):
    store = SessionStore(max_bytes=5000)
    for i, side in enumerate(sides):
        try:
            store.put(f"img{i}", None, make_session(side=side))
        except SessionTooLarge:
            assert side * side * 8 > 5000
        assert store.nbytes <= 5000
        store.get(f"img{i // 2}")
        assert store.nbytes <= 5000


# --- threads ---------------------------------------------------------------------------

def test_threads_racing_to_get_or_create_one_key_all_get_the_same_session(make_session):
    store = SessionStore()
    barrier = threading.Barrier(16)
    got = [None] * 16

    def create():
        time.sleep(0.01)                                         # widen the race window
        return make_session()

    def worker(i):
        barrier.wait()
        got[i] = store.get_or_create("img", "obj", create)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s is got[0] for s in got) and got[0] is not None
    assert store.get("img", "obj") is got[0] and len(store) == 1


def test_concurrent_puts_on_different_keys_keep_the_byte_bound(make_session):
    bound = 10 * 800
    store = SessionStore(max_bytes=bound)
    sessions = [make_session() for _ in range(8)]
    errors = []
    barrier = threading.Barrier(8)

    def worker(t):
        try:
            barrier.wait()
            for i in range(60):
                store.put(f"img-{t}-{i}", t, sessions[t])
                assert store.nbytes <= bound
                store.get(f"img-{t}-{i // 2}", t)
        except Exception as exc:                                 # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert store.nbytes <= bound
    assert len(store) == 10


def test_concurrent_get_or_create_on_many_keys_gives_each_key_one_session(make_session):
    store = SessionStore()
    results = {}
    lock = threading.Lock()
    barrier = threading.Barrier(12)

    def worker(t):
        barrier.wait()
        for k in range(20):
            session = store.get_or_create("img", k, make_session)
            with lock:
                results.setdefault(k, set()).add(id(session))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(len(ids) == 1 for ids in results.values())
    assert len(store) == 20


# --- image digests ---------------------------------------------------------------------

def test_image_digest_differs_for_arrays_with_the_same_bytes_but_different_shapes():
    flat = np.arange(24, dtype=np.uint8)
    a, b = flat.reshape(2, 12), flat.reshape(3, 8)
    assert a.tobytes() == b.tobytes()
    assert image_digest(a) != image_digest(b)
    assert image_digest(flat.reshape(2, 4, 3)) != image_digest(flat.reshape(4, 2, 3))


def test_image_digest_differs_for_arrays_with_the_same_bytes_but_different_dtypes():
    raw = np.arange(16, dtype=np.uint8)
    assert image_digest(raw) != image_digest(raw.view(np.uint16))


def test_image_digest_is_the_same_for_equal_arrays_and_for_a_view_and_its_copy():
    image = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    assert image_digest(image) == image_digest(image.copy())
    view = image[::2, 5:30]
    assert image_digest(view) == image_digest(np.ascontiguousarray(view))


def test_image_digest_changes_when_one_pixel_changes():
    image = np.zeros((30, 40, 3), np.uint8)
    other = image.copy()
    other[29, 39, 2] = 1
    assert image_digest(image) != image_digest(other)


def test_image_digest_of_encoded_bytes_is_their_sha256():
    import hashlib
    data = b"\x89PNG not really"
    assert image_digest(data) == hashlib.sha256(data).hexdigest()
    assert image_digest(bytearray(data)) == image_digest(memoryview(data)) == image_digest(data)


@pytest.mark.parametrize("bad", ["a string", None, [1, 2, 3], 42])
def test_image_digest_of_something_that_is_not_an_image_raises_value_error_naming_image(bad):
    with pytest.raises(ValueError, match="image"):
        image_digest(bad)
