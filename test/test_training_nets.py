"""Every architecture: output shapes at odd sizes, a few training steps, ONNX export parity and metadata."""
import numpy as np
import onnx
import pytest
import torch

from seg_node.model_metadata import ModelMetadata
from segtool.training.checkpoint import save_checkpoint
from segtool.training.export import ParityError, export_onnx
from segtool.training.losses import build_loss
from segtool.training.nets import build_model, memory_format
from segtool.training.registry import MODELS

torch.set_num_threads(2)
META = {'class_names': ['a', 'b', 'c'], 'palette': [[1, 2, 3], [4, 5, 6], [7, 8, 9]], 'mean': [0.4, 0.5, 0.6],
        'std': [0.2, 0.25, 0.3], 'input_size': [40, 56]}


@pytest.mark.parametrize('name', sorted(MODELS))
@pytest.mark.parametrize('size', [(64, 96), (37, 53)])
def test_output_shape(name, size):
    model = build_model(name, 3).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, *size))
    assert out.shape == (2, 3, *size)


@pytest.mark.parametrize('name', sorted(MODELS))
def test_a_few_training_steps_fit_a_fixed_batch(name):
    torch.manual_seed(0)
    model = build_model(name, 3)
    x = torch.randn(2, 3, 32, 48)
    y = (torch.arange(48).expand(2, 32, 48) // 16).long()  # three vertical bands
    y[:, :4] = 255
    loss_fn = build_loss('ce+dice')
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses)) and losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize('name', sorted(MODELS))
def test_export_parity_and_metadata_round_trip(name, tmp_path):
    torch.manual_seed(0)
    model = build_model(name, 3)
    model.train()
    with torch.no_grad():  # move the batch-norm statistics off their defaults
        model(torch.randn(2, 3, 40, 56) * 2 + 1)
    save_checkpoint(tmp_path / 'm.pt', model.eval(), {'model': name}, META)
    result = export_onnx(tmp_path / 'm.pt', tmp_path / 'm.onnx')
    assert len(result['sizes']) == 3 and max(result['max_abs_diff']) <= 1e-3 and min(result['same_class']) == 1.0
    assert result['checked_on'] == ('classes' if name == 'segnet' else 'logits')  # SegNet: see its exact_parity
    proto = onnx.load(str(tmp_path / 'm.onnx'))
    meta = ModelMetadata.from_props({p.key: p.value for p in proto.metadata_props})
    assert meta == ModelMetadata(class_names=('a', 'b', 'c'), palette=((1, 2, 3), (4, 5, 6), (7, 8, 9)),
                                 mean=(0.4, 0.5, 0.6), std=(0.2, 0.25, 0.3), input_size=(40, 56),
                                 output_kind='logits')
    for value, channels in ((proto.graph.input[0], 3), (proto.graph.output[0], 3)):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        assert dims == ['batch', channels, 'height', 'width'], value.name


def _trained_looking_fastscnn(classes: int) -> torch.nn.Module:
    """Build a Fast-SCNN whose full-resolution refinement counts (its last layer starts at zero), with BN statistics."""
    torch.manual_seed(0)
    model = build_model('fastscnn', classes)
    for parameter in model.refine1.parameters():
        torch.nn.init.normal_(parameter, std=0.3)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 40, 56) * 2 + 1)
    return model.eval()


@pytest.mark.parametrize('classes', [11, 3, 16])
def test_fastscnn_export_form_pads_the_refinement_to_whole_blocks_and_computes_the_same(classes):
    model = _trained_looking_fastscnn(classes)
    exported = model.for_export()
    channels = exported.refine1[0][0][0].in_channels
    assert channels % 16 == 0 and channels == 16 + classes + exported.logit_pad and channels - 16 - classes < 16
    without_refinement = build_model('fastscnn', classes)
    without_refinement.load_state_dict(model.state_dict())
    torch.nn.init.zeros_(without_refinement.refine1[-1].weight)
    torch.nn.init.zeros_(without_refinement.refine1[-1].bias)
    x = torch.randn(1, 3, 45, 61)
    with torch.no_grad():
        assert torch.allclose(exported(x), model(x), atol=1e-5)
        assert (without_refinement.eval()(x) - model(x)).abs().max() > 0.1  # the padded branch is not a no-op here


def test_fastscnn_exports_its_padded_form_checked_against_the_trained_net(tmp_path):
    model = _trained_looking_fastscnn(3)
    save_checkpoint(tmp_path / 'm.pt', model, {'model': 'fastscnn'}, META)
    result = export_onnx(tmp_path / 'm.pt', tmp_path / 'm.onnx')
    assert max(result['max_abs_diff']) <= 1e-3 and min(result['same_class']) == 1.0
    graph = onnx.load(str(tmp_path / 'm.onnx')).graph
    groups = [a.i for node in graph.node if node.op_type == 'Conv' for a in node.attribute if a.name == 'group']
    assert 32 in groups and 19 not in groups  # the refinement's depthwise convolution: 16 + 3 channels padded to 32


def test_export_fails_above_tolerance(tmp_path):
    save_checkpoint(tmp_path / 'm.pt', build_model('fastscnn', 3).eval(), {'model': 'fastscnn'}, META)
    with pytest.raises(ParityError, match='differs'):
        export_onnx(tmp_path / 'm.pt', tmp_path / 'm.onnx', tolerance=-1.0)
    static = export_onnx(tmp_path / 'm.pt', tmp_path / 's.onnx', dynamic=False)
    assert static['sizes'] == [[40, 56]]


def test_checkpoint_loads_with_weights_only(tmp_path):
    model = build_model('unet', 3)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 3, 32, 32)).mean().backward()
    optimizer.step()
    save_checkpoint(tmp_path / 'c.pt', model, {'model': 'unet', 'size': [32, 32]}, META,
                    optimizer=optimizer.state_dict(), history=[{'epoch': 1, 'val_miou': 0.5}])
    loaded = torch.load(tmp_path / 'c.pt', weights_only=True)
    assert loaded['meta'] == META and loaded['history'][0]['val_miou'] == 0.5
    assert all(torch.equal(loaded['model'][k], v) for k, v in model.state_dict().items())


def test_fastscnn_full_resolution_refinement_starts_as_a_no_op():
    """Its last layer starts at zero, so weights from before it existed fine-tune from unchanged predictions."""
    model = build_model('fastscnn', 3).eval()
    seen = []
    model.refine1.register_forward_hook(lambda module, args, out: seen.append(out))
    with torch.no_grad():
        model(torch.randn(1, 3, 40, 56))
    assert seen[0].shape == (1, 3, 40, 56) and not seen[0].any()


def test_fastscnn_channels_last_training_changes_speed_not_results():
    """Check that the layout the trainer picks for Fast-SCNN's speed computes what the default one does.

    The same outputs and gradients, exactly up to float rounding with fixed batch-norm statistics; in training mode,
    batch statistics summed in another order amplify the rounding in the gradients, so there only the outputs are
    compared.
    """
    assert memory_format('fastscnn') == torch.channels_last
    assert all(memory_format(name) == torch.contiguous_format for name in MODELS if name != 'fastscnn')
    torch.manual_seed(0)
    x, y = torch.randn(2, 3, 40, 56), torch.randint(0, 3, (2, 40, 56))
    runs = {}
    for layout in (torch.contiguous_format, torch.channels_last):
        torch.manual_seed(1)
        model = build_model('fastscnn', 3).to(memory_format=layout)
        torch.nn.init.normal_(model.refine1[-1].weight, std=0.1)  # no zero-initialised layer hides a gradient
        train_out = model.train()(x.contiguous(memory_format=layout))
        out = model.eval()(x.contiguous(memory_format=layout))
        build_loss('ce+dice')(out, y).backward()
        runs[layout] = train_out.detach(), out.detach(), {k: p.grad for k, p in model.named_parameters()}
    (train_a, out_a, grads_a), (train_b, out_b, grads_b) = runs.values()
    assert out_b.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(train_b, train_a, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(out_b, out_a, rtol=1e-5, atol=1e-6)
    grad_a, grad_b = (torch.cat([g[k].flatten() for k in grads_a]) for g in (grads_a, grads_b))
    assert (grad_b - grad_a).norm() <= 1e-5 * grad_a.norm()


def test_segnet_unpools_with_the_pooling_indices_as_max_unpool_does(tmp_path):
    """The scatter that replaces MaxUnpool (which torch cannot export) computes the same, odd sizes included."""
    import torch.nn.functional as F
    from segtool.training.nets.segnet import unpool
    x = torch.randn(2, 4, 9, 13)
    pooled, indices = F.max_pool2d(x, 2, 2, ceil_mode=True, return_indices=True)
    expected = F.max_unpool2d(pooled, indices, 2, 2, output_size=x.shape[-2:])
    assert torch.equal(unpool(pooled, indices, x), expected)
    save_checkpoint(tmp_path / 'm.pt', build_model('segnet', 3).eval(), {'model': 'segnet'}, META)
    export_onnx(tmp_path / 'm.pt', tmp_path / 'm.onnx')
    ops = [n for n in onnx.load(str(tmp_path / 'm.onnx')).graph.node]
    # per stage, a MaxPool with its Indices and a 1 x 1 one the exporter adds to make the indices per plane
    assert sum(n.op_type == 'MaxPool' and len(n.output) == 2 for n in ops) == 10
    assert sum(n.op_type == 'ScatterElements' for n in ops) == 5
