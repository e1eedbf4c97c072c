"""CBAM variants (pooling and arrangement ablations) and the weight mapping between layouts."""
from __future__ import annotations

import pytest
import torch

from attn_src import CBAM, ChannelAttention, SpatialAttention
from attn_src.blog import BlogCBAM
from attn_src.cbam_variants import (
    LAYOUTS, ArrangedCBAM, PooledChannelAttention, convert_cbam_state_dict, layout_options, swap_pooled_maps,
)


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def randomise(module, seed=1):
    """Random values for every parameter and BatchNorm statistic, so nothing is trivially neutral."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=gen) + 0.5 if "running_var" in name else torch.randn(tensor.shape, generator=gen)
                tensor.copy_(values)
    return module.eval()


# ------------------------------------------------------------------ PooledChannelAttention


def test_both_pools_is_attn_src_channel_attention():
    ref = randomise(ChannelAttention(32, reduction=4))
    mine = PooledChannelAttention(32, reduction=4, pools="both")
    mine.load_state_dict(ref.state_dict())
    x = randn(2, 32, 5, 6)
    torch.testing.assert_close(mine(x), ref(x))


@pytest.mark.parametrize("pools, pool", [("avg", lambda x: x.mean((2, 3))), ("max", lambda x: x.amax((2, 3)))])
def test_one_pool_feeds_the_mlp_once(pools, pool):
    module = randomise(PooledChannelAttention(16, reduction=4, pools=pools))
    x = randn(3, 16, 4, 4)
    by_hand = torch.sigmoid(module.mlp(pool(x)))[:, :, None, None]
    torch.testing.assert_close(module.gate(x), by_hand)
    torch.testing.assert_close(module(x), x * by_hand)


def test_the_pools_share_the_parameters():
    counts = {p: sum(t.numel() for t in PooledChannelAttention(64, reduction=16, pools=p).parameters())
              for p in ("avg", "max", "both")}
    assert counts == dict.fromkeys(("avg", "max", "both"), 2 * 64 * 4 + 4 + 64)


def test_pools_is_validated():
    with pytest.raises(ValueError, match=r"pools must be one of 'avg', 'max', 'both', got 'mean'"):
        PooledChannelAttention(16, pools="mean")
    with pytest.raises(ValueError, match="expected 16 channels, got 8"):
        PooledChannelAttention(16, reduction=4).gate(randn(1, 8, 3, 3))


# ------------------------------------------------------------------ ArrangedCBAM


def arranged(arrangement, **kw):
    return randomise(ArrangedCBAM(16, arrangement, reduction=4, kernel_size=3, **kw))


def test_channel_spatial_is_attn_src_cbam():
    mine = arranged("channel-spatial")
    ref = CBAM(16, reduction=4, kernel_size=3).eval()
    ref.load_state_dict(mine.state_dict())
    x = randn(2, 16, 6, 6)
    torch.testing.assert_close(mine(x), ref(x))


def test_spatial_channel_and_parallel_by_hand():
    x = randn(2, 16, 6, 6)
    sc, par = arranged("spatial-channel"), arranged("parallel")
    after_spatial = x * sc.spatial.gate(x)
    torch.testing.assert_close(sc(x), after_spatial * sc.channel.gate(after_spatial))
    torch.testing.assert_close(par(x), x * par.channel.gate(x) * par.spatial.gate(x))


def test_the_three_arrangements_differ():
    x = randn(2, 16, 6, 6)
    outs = [arranged(a)(x) for a in ("channel-spatial", "spatial-channel", "parallel")]
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[0], outs[2])
    assert not torch.allclose(outs[1], outs[2])


def test_arrangement_is_validated():
    with pytest.raises(ValueError, match="arrangement must be one of 'channel-spatial', 'spatial-channel', 'parallel', got 'serial'"):
        ArrangedCBAM(16, "serial")
    with pytest.raises(ValueError, match="kernel_size must be a positive odd int"):
        ArrangedCBAM(16, kernel_size=4)


# ------------------------------------------------------------------ layouts


def test_swap_pooled_maps_equals_stacking_the_other_way():
    x = randn(2, 8, 7, 7)
    w = randn(1, 2, 7, 7, seed=3)
    mean, peak = x.mean(1, keepdim=True), x.amax(1, keepdim=True)
    a = torch.nn.functional.conv2d(torch.cat([mean, peak], 1), w, padding=3)
    b = torch.nn.functional.conv2d(torch.cat([peak, mean], 1), swap_pooled_maps(w), padding=3)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(swap_pooled_maps(swap_pooled_maps(w)), w, rtol=0, atol=0)


def test_swap_pooled_maps_is_validated():
    with pytest.raises(ValueError, match=r"weight must have shape \(1, 2, k, k\).*got \(1, 3, 7, 7\)"):
        swap_pooled_maps(torch.zeros(1, 3, 7, 7))
    with pytest.raises(TypeError, match="weight must be a torch.Tensor.*got list"):
        swap_pooled_maps([1, 2])


def test_layout_options():
    assert layout_options("blog") == {"bias": False, "norm": False, "max_first": False}
    assert layout_options("official") == {"bias": True, "norm": True, "max_first": True}
    assert layout_options("timm") == {"bias": False, "norm": True, "max_first": False}
    with pytest.raises(ValueError, match="layout must be one of 'attn_src', 'official', 'timm', 'blog', got 'keras'"):
        layout_options("keras")


def test_blog_weights_load_into_attn_src_with_the_swap():
    blog = randomise(BlogCBAM(32, reduction=8))
    ours = CBAM(32, reduction=8).eval()
    ours.load_state_dict(convert_cbam_state_dict(blog.state_dict(), "blog", "attn_src"))
    x = randn(2, 32, 9, 9)
    torch.testing.assert_close(ours(x), blog(x), atol=1e-6, rtol=1e-5)
    # Without the swap the same numbers compute a different gate.
    with torch.no_grad():
        ours.spatial.conv.weight.copy_(blog.spatial_gate.conv.weight)
    assert (ours(x) - blog(x)).abs().max() > 1e-2


def test_blog_weights_in_attn_src_with_the_blog_options_need_no_swap():
    blog = randomise(BlogCBAM(32, reduction=8))
    ours = CBAM(32, reduction=8, **layout_options("blog")).eval()
    with torch.no_grad():
        ours.channel.mlp[0].weight.copy_(blog.channel_gate.squeeze.weight[:, :, 0, 0])
        ours.channel.mlp[2].weight.copy_(blog.channel_gate.unsqueeze.weight[:, :, 0, 0])
        ours.spatial.conv.weight.copy_(blog.spatial_gate.conv.weight)
    x = randn(2, 32, 9, 9)
    torch.testing.assert_close(ours(x), blog(x))


@pytest.mark.parametrize("target", ["official", "timm", "blog"])
def test_round_trip_through_every_layout_is_exact(target):
    sd = BlogCBAM(16, reduction=4).state_dict()
    there = convert_cbam_state_dict(sd, "blog", target)
    back = convert_cbam_state_dict(there, target, "blog")
    assert back.keys() == sd.keys()
    for key in sd:
        torch.testing.assert_close(back[key], sd[key], rtol=0, atol=0)


def test_layout_keys_and_shapes():
    sd = randomise(CBAM(64, reduction=16)).state_dict()
    official = convert_cbam_state_dict(sd, "attn_src", "official")
    assert official["ChannelGate.mlp.1.weight"].shape == (4, 64)
    assert official["ChannelGate.mlp.3.bias"].shape == (64,)
    torch.testing.assert_close(official["SpatialGate.spatial.conv.weight"], sd["spatial.conv.weight"], rtol=0, atol=0)
    assert set(official) == {
        "ChannelGate.mlp.1.weight", "ChannelGate.mlp.1.bias", "ChannelGate.mlp.3.weight", "ChannelGate.mlp.3.bias",
        "SpatialGate.spatial.conv.weight", *(f"SpatialGate.spatial.bn.{k}" for k in
                                             ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
    }
    with torch.no_grad():  # timm has no MLP biases: make them zero so the conversion is exact
        sd["channel.mlp.0.bias"].zero_()
        sd["channel.mlp.2.bias"].zero_()
    timm = convert_cbam_state_dict(sd, "attn_src", "timm")
    assert timm["channel.fc1.weight"].shape == (4, 64, 1, 1)
    torch.testing.assert_close(timm["spatial.conv.conv.weight"], sd["spatial.conv.weight"][:, [1, 0]], rtol=0, atol=0)
    torch.testing.assert_close(timm["spatial.conv.bn.running_var"], sd["spatial.norm.running_var"], rtol=0, atol=0)


def test_filled_in_batchnorm_is_the_identity_in_eval_mode():
    sd = convert_cbam_state_dict(BlogCBAM(16, reduction=4).state_dict(), "blog", "timm")
    bn = torch.nn.BatchNorm2d(1).eval()
    bn.load_state_dict({k.removeprefix("spatial.conv.bn."): v for k, v in sd.items() if ".bn." in k})
    x = randn(2, 1, 5, 5)
    torch.testing.assert_close(bn(x), x)


def test_lossy_conversions_are_refused():
    sd = randomise(CBAM(16, reduction=4)).state_dict()
    with pytest.raises(ValueError, match="target='timm' has no MLP biases, but the source's biases are not zero"):
        convert_cbam_state_dict(sd, "attn_src", "timm")
    with torch.no_grad():
        sd["channel.mlp.0.bias"].zero_()
        sd["channel.mlp.2.bias"].zero_()
    with pytest.raises(ValueError, match="target='blog' has no BatchNorm after the spatial conv, but the source's BatchNorm is not the identity"):
        convert_cbam_state_dict(sd, "attn_src", "blog")


def test_bad_arguments_are_named():
    sd = BlogCBAM(16, reduction=4).state_dict()
    with pytest.raises(ValueError, match="source must be one of 'attn_src', 'official', 'timm', 'blog', got 'paper'"):
        convert_cbam_state_dict(sd, "paper", "timm")
    with pytest.raises(ValueError, match="target must be one of"):
        convert_cbam_state_dict(sd, "blog", None)
    with pytest.raises(ValueError, match=r"does not have the keys of layout source='timm': missing \['channel.fc1.weight'"):
        convert_cbam_state_dict(sd, "timm", "blog")
    with pytest.raises(ValueError, match="eps must be a real number > 0, got 0"):
        convert_cbam_state_dict(sd, "blog", "timm", eps=0)
    with pytest.raises(TypeError, match="state_dict must be a mapping of names to tensors, got list"):
        convert_cbam_state_dict([], "blog", "timm")


def test_layouts_table_is_consistent_with_attn_src():
    # Every key written for the attn_src layout is a key of attn_src.CBAM's state dict, and vice versa.
    sd = convert_cbam_state_dict(BlogCBAM(16, reduction=4).state_dict(), "blog", "attn_src")
    assert set(sd) == set(CBAM(16, reduction=4).state_dict())
    assert set(convert_cbam_state_dict(sd, "attn_src", "blog")) == set(BlogCBAM(16, reduction=4).state_dict())
    assert set(LAYOUTS) == {"attn_src", "official", "timm", "blog"}
    assert SpatialAttention().max_first is LAYOUTS["attn_src"]["max_first"]


# ------------------------------------------------------------------ Pool


def test_each_pool_pair_computes_the_same_result():
    from attn_src.cbam_variants import POOL_OPS, Pool

    x = randn(2, 16, 5, 7)
    with torch.no_grad():
        out = {kind: Pool(kind)(x) for kind in POOL_OPS}
    torch.testing.assert_close(out["AdaptiveAvgPool2d(1)"], out["mean over H, W"])
    torch.testing.assert_close(out["AdaptiveMaxPool2d(1)"], out["amax over H, W"], rtol=0, atol=0)
    torch.testing.assert_close(out["max across C, with indices"], out["amax across C"], rtol=0, atol=0)
    assert out["amax over H, W"].shape == (2, 16, 1, 1) and out["mean across C"].shape == (2, 1, 5, 7)
    # by hand, at one place
    assert out["amax over H, W"][1, 3, 0, 0] == max(x[1, 3].flatten().tolist())
    torch.testing.assert_close(out["mean across C"][0, 0, 2, 4], sum(x[0, c, 2, 4] for c in range(16)) / 16)
    assert out["amax across C"][1, 0, 3, 6] == max(x[1, :, 3, 6].tolist())


def test_pool_kind_is_validated():
    from attn_src.cbam_variants import Pool

    with pytest.raises(ValueError, match="kind must be one of 'mean over H, W', .*got 'median'"):
        Pool("median")


def test_recalibrate_spatial_norms_sets_the_exact_statistics():
    from attn_src.cbam_variants import recalibrate_spatial_norms

    model = torch.nn.Sequential(CBAM(8, reduction=2), torch.nn.BatchNorm2d(8), CBAM(8, reduction=2)).eval()
    other = model[1]
    other.running_mean.fill_(0.5)
    x = randn(4, 8, 5, 5)
    assert recalibrate_spatial_norms(model, x) == 2
    first = model[0]
    with torch.no_grad():
        refined = first.channel(x)
        pooled = torch.cat([refined.amax(1, keepdim=True), refined.mean(1, keepdim=True)], 1)
        conv_out = first.spatial.conv(pooled)
    torch.testing.assert_close(first.spatial.norm.running_mean, conv_out.mean().reshape(1))
    torch.testing.assert_close(first.spatial.norm.running_var, conv_out.var().reshape(1))
    assert first.spatial.norm.momentum == 0.01 and not model.training
    assert torch.all(other.running_mean == 0.5)  # other BatchNorms untouched
    with pytest.raises(TypeError, match="model must be an nn.Module, got str"):
        recalibrate_spatial_norms("net", x)
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list"):
        recalibrate_spatial_norms(model, [1.0])


def test_cbam_spatial_gates_of_a_network():
    from attn_src.cbam_variants import cbam_spatial_gates
    from attn_src.models import TinyCNN

    torch.manual_seed(0)
    model = TinyCNN(attention="cbam", reduction=4).train()
    x = randn(3, 1, 12, 12)
    gates = cbam_spatial_gates(model, x)
    assert {k: tuple(v.shape) for k, v in gates.items()} == {
        "stages.0.1": (3, 1, 12, 12), "stages.1.1": (3, 1, 6, 6), "stages.2.1": (3, 1, 3, 3)}
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        first_input = model.stages[0][0](x)
        cbam = model.stages[0][1]
        expected = cbam.spatial.gate(cbam.channel(first_input))
    torch.testing.assert_close(gates["stages.0.1"], expected)
    # the refined map is exactly F' * M_s(F')
    torch.testing.assert_close(cbam(first_input), cbam.channel(first_input) * expected)
    with pytest.raises(TypeError, match="model must be an nn.Module, got NoneType"):
        cbam_spatial_gates(None, x)
