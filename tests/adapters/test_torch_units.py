"""Forward hooks on a PyTorch module: inner layers' responses, and LayerResponses."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.mixture import GaussianMixture

torch = pytest.importorskip("torch")

from didi import Familiarity  # noqa: E402
from didi.introspection import inactive_unit_analysis, principal_filter_analysis  # noqa: E402
from didi.torch import LayerResponses, TorchClassifier  # noqa: E402

#: Biases of the hidden layer: units 1 and 3 can never fire on inputs in [0, 1].
BIASES = [0.0, -10.0, 0.0, -1.0]


def known_net():
    """Linear(3, 4) with identity weights on the first three units and the biases
    above, a ReLU, dropout, and a head: the ReLU outputs are known exactly."""
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Dropout(0.5), torch.nn.Linear(4, 2)
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]]))
        net[0].bias.copy_(torch.tensor(BIASES))
        net[3].weight.fill_(0.5)
        net[3].bias.zero_()
    return net


def conv_net():
    """Conv2d(1, 3, 3, padding=1): channel 0 copies its input, channel 1 never fires,
    channel 2 fires where the input exceeds 0.5."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(3, 2),
    ).double()
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].weight[:, 0, 1, 1] = 1.0
        net[0].bias.copy_(torch.tensor([0.0, -100.0, -0.5]))
    return net


@pytest.fixture(scope="module")
def inputs():
    return np.random.default_rng(0).uniform(size=(23, 3)).astype(np.float32)


def no_hooks_left(module):
    return all(not m._forward_hooks for m in module.modules())


def test_relu_outputs_are_known_exactly(inputs):
    net = known_net()
    found = TorchClassifier(net, batch_size=5).unit_responses(inputs, ["0", "1"])
    expected_linear = inputs.astype(np.float64) @ np.eye(4, 3).T + BIASES
    np.testing.assert_allclose(found["0"], expected_linear, atol=1e-6)
    np.testing.assert_array_equal(found["1"], np.maximum(found["0"], 0.0))
    assert found["1"].dtype == np.float64 and found["1"].shape == (23, 4)
    np.testing.assert_array_equal(found["1"][:, [1, 3]], 0.0)
    iua = inactive_unit_analysis(found)
    np.testing.assert_array_equal(iua.layers["1"].dead_units, [1, 3])
    assert iua.layers["0"].dead_units.size == 0


def test_batches_eval_mode_and_hooks_removed(inputs):
    net = known_net()
    net.train()
    whole = TorchClassifier(net).unit_responses(inputs, "2")
    batched = TorchClassifier(net, batch_size=4).unit_responses(inputs, ["2", "2"])
    assert list(batched) == ["2"]
    np.testing.assert_array_equal(whole["2"], batched["2"])
    # Dropout is off (eval mode): its output is its input, the ReLU's.
    relu = TorchClassifier(net).unit_responses(inputs, "1")["1"]
    np.testing.assert_array_equal(whole["2"], relu)
    assert all(m.training for m in net.modules())
    assert no_hooks_left(net)


def test_conv_maps_and_their_shapes():
    X = np.random.default_rng(1).uniform(size=(12, 25))
    net = conv_net()
    found = TorchClassifier(net, input_shape=(1, 5, 5), batch_size=5).unit_responses(
        X, ["0", "1", "3"]
    )
    assert found["0"].shape == (12, 3, 5, 5) and found["1"].shape == (12, 3, 5, 5)
    assert found["3"].shape == (12, 3)
    images = X.reshape(12, 5, 5)
    np.testing.assert_allclose(found["1"][:, 0], images)
    np.testing.assert_array_equal(found["1"][:, 1], 0.0)
    np.testing.assert_allclose(found["1"][:, 2], np.maximum(images - 0.5, 0.0))
    np.testing.assert_allclose(found["3"], found["1"].mean(axis=(2, 3)))
    assert list(inactive_unit_analysis({"relu": found["1"]}).layers["relu"].dead_units) == [1]
    pfa = principal_filter_analysis({"relu": found["1"]}).layers["relu"]
    np.testing.assert_array_equal(pfa.inactive_units, [1])


def test_unknown_layers_are_named(inputs):
    net = known_net()
    clf = TorchClassifier(net)
    with pytest.raises(ValueError, match=r"no layer 'nope'.*'0', '1', '2', '3'"):
        clf.unit_responses(inputs, ["1", "nope"])
    with pytest.raises(ValueError, match="layers must be"):
        clf.unit_responses(inputs, [])
    assert no_hooks_left(net)


def test_many_layer_names_are_cut_short():
    net = torch.nn.Sequential(*[torch.nn.Identity() for _ in range(30)])
    with pytest.raises(ValueError, match=r"'19' … \(30 in all\)") as error:
        TorchClassifier(net).unit_responses(np.zeros((2, 3), np.float32), "x")
    assert "'20'" not in str(error.value)


class TupleLayer(torch.nn.Module):
    def forward(self, x):
        return x, x


class TwoCalls(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = torch.nn.Linear(3, 3)
        self.unused = torch.nn.Linear(3, 3)
        self.pair = TupleLayer()

    def forward(self, x):
        self.pair(x)
        return self.shared(self.shared(x))


@pytest.mark.parametrize(
    ("layers", "error", "message"),
    [
        (["shared", "pair"], TypeError, "'pair' returned tuple"),
        (["shared"], ValueError, "'shared' ran 2 times"),
        (["pair.x"], ValueError, "no layer 'pair.x'"),
        ("unused", ValueError, "'unused' did not run"),
    ],
)
def test_layers_that_give_no_single_response(inputs, layers, error, message):
    net = TwoCalls()
    net.train()
    with pytest.raises(error, match=message):
        TorchClassifier(net).unit_responses(inputs, layers)
    assert no_hooks_left(net)
    assert all(m.training for m in net.modules())


# ---------------------------------------------------------------------- LayerResponses


def test_layer_responses_pool_feature_maps():
    X = np.random.default_rng(2).uniform(size=(10, 25))
    clf = TorchClassifier(conv_net(), input_shape=(1, 5, 5))
    maps = clf.unit_responses(X, "1")["1"]
    np.testing.assert_allclose(LayerResponses(clf, "1")(X), maps.mean(axis=(2, 3)))
    np.testing.assert_allclose(LayerResponses(clf, "1", pooling="max")(X), maps.max(axis=(2, 3)))
    np.testing.assert_allclose(LayerResponses(clf, "1", pooling=None)(X), maps.reshape(10, -1))
    channels_last = LayerResponses(clf, "1", unit_axis=-1)(X)
    np.testing.assert_allclose(channels_last, maps.mean(axis=(1, 2)))


def test_layer_responses_errors():
    clf = TorchClassifier(known_net())
    with pytest.raises(ValueError, match="pooling"):
        LayerResponses(clf, "1", pooling="sum")
    with pytest.raises(ValueError, match="unit_responses"):
        LayerResponses(object(), "1")
    with pytest.raises(ValueError, match="no layer 'x'"):
        LayerResponses(clf, "x")(np.zeros((2, 3), np.float32))


def test_familiarity_of_a_layer(inputs):
    clf = TorchClassifier(known_net())
    layer = LayerResponses(clf, "1")
    familiarity = Familiarity(responses=layer, n_components=2, random_state=0).fit(inputs)
    assert familiarity.n_responses_ == 4
    features = np.maximum(inputs.astype(np.float64) @ np.eye(4, 3).T + BIASES, 0.0)
    mixture = GaussianMixture(
        n_components=2, covariance_type="diag", reg_covar=1e-6, tol=1e-3, max_iter=200,
        random_state=0,
    ).fit(features)  # fmt: skip
    np.testing.assert_allclose(
        familiarity.score_samples(inputs), mixture.score_samples(features), rtol=1e-5
    )
    again = pickle.loads(pickle.dumps(familiarity))
    np.testing.assert_allclose(again.score_samples(inputs), familiarity.score_samples(inputs))
    assert isinstance(clone(familiarity).responses, LayerResponses)
    assert "LayerResponses(" in repr(layer) and "'1'" in repr(layer)
