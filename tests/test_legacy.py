"""PyTorch's older spellings (minigrad/legacy.py, minigrad/cuda.py): what a PyTorch-GAN
style script writes, checked to make and recognise the tensors it means."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Variable


def test_a_pytorch_gan_style_training_prologue_runs(device):
    """The lines of PyTorch-GAN's gan.py around its training loop, renamed to mg."""
    cuda = device == "gpu"
    assert mg.cuda.is_available() == (mg.cuda.device_count() == 1)
    Tensor = mg.cuda.FloatTensor if cuda else mg.FloatTensor
    imgs = mg.tensor(np.random.default_rng(0).random((4, 1, 2, 2)), dtype=mg.float64)
    valid = Variable(Tensor(imgs.size(0), 1).fill_(1.0), requires_grad=False)
    assert valid.shape == (4, 1) and valid.dtype == mg.float32 and valid.device == device
    assert valid.numpy().tolist() == [[1.0]] * 4 and not valid.requires_grad
    real_imgs = Variable(imgs.type(Tensor))
    np.testing.assert_allclose(real_imgs.numpy(), imgs.numpy(), rtol=1e-6)
    assert real_imgs.dtype == mg.float32 and real_imgs.device == device
    z = Variable(Tensor(np.zeros((4, 3))))
    assert z.shape == (4, 3) and isinstance(z, Tensor) and isinstance(z, Variable)
    assert isinstance(z, mg.Tensor) and not isinstance(z, mg.LongTensor)
    labels = Variable(mg.LongTensor([1, 0]).type(mg.cuda.LongTensor if cuda else
                                                  mg.LongTensor))
    assert labels.dtype == mg.int64 and labels.numpy().tolist() == [1, 0]
    assert z.type() == ("minigrad.cuda.FloatTensor" if cuda else "minigrad.FloatTensor")


def test_variable_is_a_new_leaf_on_the_same_memory():
    x = mg.zeros(3)
    computed = x * 2
    v = Variable(computed, requires_grad=True)
    assert v is not computed and v.requires_grad and v.creator is None
    with mg.no_grad():
        v.add_(1.0)
    assert computed.numpy().tolist() == [1.0, 1.0, 1.0]          # no copy, as PyTorch
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(x, volatile=True)
    with pytest.raises(TypeError, match="Variable: data must be a Tensor, got ndarray"):
        Variable(np.zeros(2))


def test_device_objects_are_device_names():
    cpu = mg.device("cpu")
    assert cpu == "cpu" and cpu.type == "cpu" and cpu.index is None
    assert repr(mg.device("cuda", 0)) == "device(type='cuda', index=0)"
    assert mg.device("cuda:0").type == "cuda" and mg.device("cuda:0").index == 0
    assert mg.zeros(2, device=cpu).device == "cpu"
    assert mg.nn.Linear(2, 2).to(cpu).weight.device == "cpu"
    assert mg.zeros(2).to(cpu).device == "cpu"
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mg.device("tpu")


def test_legacy_tensor_types():
    assert mg.FloatTensor(2, 3).shape == (2, 3) and mg.FloatTensor(2, 3).dtype == mg.float32
    assert mg.DoubleTensor([1, 2]).numpy().tolist() == [1.0, 2.0]       # a list is data
    assert mg.LongTensor(mg.tensor([1.7])).numpy().tolist() == [1]
    assert mg.ByteTensor(2).dtype == np.uint8 and mg.BoolTensor(1).dtype == np.bool_
    assert mg.IntTensor([3]).dtype == mg.int32
    assert isinstance(mg.zeros(1), mg.FloatTensor) and not isinstance(mg.zeros(1),
                                                                      mg.cuda.FloatTensor)
    assert repr(mg.cuda.FloatTensor) == "<class 'minigrad.cuda.FloatTensor'>"
    with pytest.raises(TypeError, match=r"FloatTensor: pass sizes \(2, 3\), or one"):
        mg.FloatTensor([1.0], [2.0])
    with pytest.raises(TypeError, match="type: pass a dtype .* not the string"):
        mg.zeros(1).type("torch.FloatTensor")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.cuda.synchronize()                     # without a GPU: nothing to wait for
    mg.cuda.manual_seed_all(5)
    a = mg.randn(2)
    mg.manual_seed(5)
    assert mg.equal(a, mg.randn(2))
