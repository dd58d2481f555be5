"""CheckpointRecorder and the training callbacks (plain PyTorch, skorch, Keras)."""

import pickle

import numpy as np
import pytest
from sklearn.linear_model import SGDClassifier

from didi import CheckpointRecorder


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def test_records_are_frozen_copies(data):
    X, y = data
    model, recorder = SGDClassifier(loss="log_loss", random_state=0), CheckpointRecorder(X)
    seen = []
    for _ in range(3):
        model.partial_fit(X, y, classes=[0, 1, 2])
        recorder.record(model)
        seen.append(model.predict_proba(X))
    assert list(recorder.checkpoints_) == ["checkpoint 0", "checkpoint 1", "checkpoint 2"]
    for kept, proba, recorded in zip(
        recorder.checkpoints_.values(), seen, recorder.proba_, strict=True
    ):
        assert kept is not model
        np.testing.assert_allclose(kept.predict_proba(X), proba)
        np.testing.assert_allclose(recorded, proba, rtol=1e-6, atol=1e-12)
    labels = [p.argmax(1) for p in seen]
    expected = [labels[1] != labels[0], labels[2] != labels[1]]
    np.testing.assert_array_equal(recorder.flips(), expected)
    sequence = recorder.sequence(n_neighbors=10, resolution=8, random_state=0).fit(X, y)
    assert sequence.checkpoint_names_ == list(recorder.checkpoints_)
    np.testing.assert_allclose(sequence.proba_, np.stack(seen), rtol=1e-6)


def test_the_memory_budget_keeps_evenly_spaced_checkpoints(data):
    X, y = data
    model = SGDClassifier(loss="log_loss", random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    recorder = CheckpointRecorder(X)
    recorder.record(model)
    size = recorder.n_bytes_
    recorder = CheckpointRecorder(X, max_bytes=3 * size)
    with pytest.warns(UserWarning, match="keeping every"):
        for epoch in range(9):
            recorder.record(model.partial_fit(X, y), name=f"epoch {epoch}")
    assert len(recorder.proba_) == 9 and recorder.n_bytes_ <= 3 * size
    assert recorder.stride_ == 4
    assert list(recorder.checkpoints_) == ["epoch 0", "epoch 4", "epoch 8"]
    # A copy larger than the budget is refused before anything is recorded.
    small = CheckpointRecorder(X, max_bytes=size // 2)
    with pytest.raises(MemoryError, match="max_bytes"):
        small.record(model, name="big")
    assert small.names_ == [] and small.proba_ == []
    # A budget of one copy keeps the first one and skips on.
    single = CheckpointRecorder(X, max_bytes=size + size // 2)
    with pytest.warns(UserWarning, match="keeping every"):
        for _ in range(4):
            single.record(model)
    assert list(single.checkpoints_) == ["checkpoint 0"] and len(single.proba_) == 4


def test_probabilities_only_and_refusals(data):
    X, y = data
    model = SGDClassifier(loss="log_loss", random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    recorder = CheckpointRecorder(X, keep_models=False)
    recorder.record(model, name="a")
    assert recorder.checkpoints_ == {} and len(recorder.proba_) == 1
    with pytest.raises(ValueError, match="recorded already"):
        recorder.record(model, name="a")
    with pytest.raises(ValueError, match="No model was kept"):
        recorder.sequence()
    with pytest.raises(ValueError, match="pass X"):
        CheckpointRecorder(keep_models=False)
    with pytest.raises(ValueError, match="max_bytes"):
        CheckpointRecorder(max_bytes=0)
    with pytest.raises(ValueError, match="model"):
        CheckpointRecorder().record("not a model")
    with pytest.raises(ValueError, match="without X"):
        CheckpointRecorder().flips()


def test_a_plain_pytorch_loop_in_two_lines(data):
    torch = pytest.importorskip("torch")
    X, y = data
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    optimiser = torch.optim.SGD(module.parameters(), lr=0.5)
    recorder = CheckpointRecorder(X, torch_options={"output": "logits"})
    seen = []
    for _ in range(3):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(torch.from_numpy(X)), torch.from_numpy(y))
        loss.backward()
        optimiser.step()
        recorder.record(module)
        with torch.no_grad():
            seen.append(torch.softmax(module(torch.from_numpy(X)).double(), 1).numpy())
    assert not np.allclose(seen[0], seen[2])
    for kept, proba in zip(recorder.checkpoints_.values(), seen, strict=True):
        assert kept.module is not module
        np.testing.assert_allclose(kept.predict_proba(X), proba, rtol=1e-5, atol=1e-6)
    n_weights = sum(p.numel() for p in module.parameters())
    assert recorder.n_bytes_ == 3 * 4 * n_weights


def test_skorch_callback_records_every_epoch(data):
    pytest.importorskip("skorch")
    import torch
    from skorch import NeuralNetClassifier

    from didi.skorch import RecordCheckpoints

    X, y = data
    torch.manual_seed(0)
    recorder = CheckpointRecorder(X)
    net = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=-1)),
        max_epochs=4, lr=0.5, train_split=None, verbose=0,
        callbacks=[RecordCheckpoints(recorder, every=2)],
    ).fit(X, y)  # fmt: skip
    assert list(recorder.checkpoints_) == ["epoch 2", "epoch 4"]
    last = recorder.checkpoints_["epoch 4"]
    np.testing.assert_allclose(last.predict_proba(X), net.predict_proba(X), rtol=1e-6)
    # The copies leave the callbacks (with the recorder and earlier copies) behind.
    sizes = [len(pickle.dumps(kept)) for kept in recorder.checkpoints_.values()]
    assert sizes[1] < 1.2 * sizes[0] and not last.callbacks_
    # A second fit goes on counting epochs.
    net.partial_fit(X, y, epochs=2)
    assert list(recorder.checkpoints_)[-1] == "epoch 6"
    assert not np.allclose(recorder.proba_[0], recorder.proba_[1])
    sequence = recorder.sequence(n_neighbors=10, resolution=8, random_state=0).fit(X, y)
    assert sequence.embeddings_.shape == (3, len(X), 2)
    with pytest.raises(TypeError, match="CheckpointRecorder"):
        NeuralNetClassifier(
            torch.nn.Linear(4, 3), callbacks=[RecordCheckpoints(object())]
        ).initialize()


def test_keras_callback_records_every_epoch(data):
    keras = pytest.importorskip("keras")
    from didi.keras import RecordCheckpoints

    X, y = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    recorder = CheckpointRecorder(X)
    model.fit(X, y, epochs=3, verbose=0, callbacks=[RecordCheckpoints(recorder)])
    assert list(recorder.checkpoints_) == ["epoch 1", "epoch 2", "epoch 3"]
    last = recorder.checkpoints_["epoch 3"]
    assert last.model is not model
    np.testing.assert_allclose(last.predict_proba(X), model.predict(X, verbose=0), rtol=1e-5)
    assert not np.allclose(recorder.proba_[0], recorder.proba_[2])
    assert recorder.n_bytes_ == 3 * sum(w.nbytes for w in model.get_weights())
    again = CheckpointRecorder(X)
    callback = RecordCheckpoints(again, every=2)
    model.fit(X, y, epochs=2, verbose=0, callbacks=[callback])
    model.fit(X, y, epochs=2, verbose=0, callbacks=[callback])
    assert list(again.checkpoints_) == ["epoch 2", "epoch 4"]
    with pytest.raises(ValueError, match="every"):
        RecordCheckpoints(recorder, every=0)
