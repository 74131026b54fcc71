"""LLaVA-1.5 architecture (CLIP ViT tower, mlp2x_gelu projector, Llama decoder) and the MSD draft.

The same modules also run llava-interleave-qwen's layout: a SigLIP tower (`VisionConfig.model_type
"siglip_vision_model"`: no CLS, patch embedding with bias, no pre-layernorm) and a Qwen2 decoder
(`TextConfig.qkv_bias`, optionally `tie_word_embeddings`).

Parameter names follow the Hugging Face `llava-hf` checkpoints, so the same modules load a real
`llava-1.5-7b-hf` state dict and our tiny model alike. Attention is written out (torch 1.13 has no
scaled_dot_product_attention) and takes a 4D additive mask, which is what lets one decoder call
verify a whole token tree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class VisionConfig:
    hidden_size: int = 128
    intermediate_size: int = 512
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    image_size: int = 96
    patch_size: int = 8
    num_channels: int = 3
    layer_norm_eps: float = 1e-5
    hidden_act: str = "quick_gelu"
    #: "clip_vision_model" (CLS token, pre-layernorm) or "siglip_vision_model" (neither; patch conv with bias).
    model_type: str = "clip_vision_model"

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def has_cls(self) -> bool:
        return self.model_type != "siglip_vision_model"


@dataclass
class TextConfig:
    vocab_size: int = 4002
    hidden_size: int = 256
    intermediate_size: int = 704
    num_hidden_layers: int = 8
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    max_position_embeddings: int = 1024
    #: Biases on q/k/v (Qwen2); o_proj never has one.
    qkv_bias: bool = False
    #: lm_head shares the embedding's weights (the checkpoint may omit lm_head.weight).
    tie_word_embeddings: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads


@dataclass
class LlavaConfig:
    vision_config: VisionConfig = field(default_factory=VisionConfig)
    text_config: TextConfig = field(default_factory=TextConfig)
    image_token_index: int = 4000
    pad_token_id: int = 4001
    bos_token_id: int | None = 1  # None: the tokenizer adds no BOS (Qwen2)
    eos_token_id: int = 2
    vision_feature_layer: int = -2
    vision_feature_select_strategy: str = "default"
    projector_hidden_act: str = "gelu"

    @property
    def image_seq_length(self) -> int:
        # The tower emits patches (+ CLS for CLIP); "default" drops the first row (CLIP's CLS; for a
        # tower without CLS, transformers drops the first patch all the same), "full" keeps every row.
        v = self.vision_config
        return v.num_patches + (1 if v.has_cls else 0) - (1 if self.vision_feature_select_strategy == "default" else 0)

    def to_dict(self) -> dict:
        data = asdict(self)
        # Fields added for SigLIP/Qwen2 are written only when they differ from CLIP/Llama, so configs
        # (export_info.json, training checkpoints) of CLIP+Llama models stay as they were.
        for section, defaults in (("vision_config", _VISION_ADDED), ("text_config", _TEXT_ADDED)):
            for key, default in defaults.items():
                if data[section][key] == default:
                    del data[section][key]
        return data

    @staticmethod
    def from_dict(data: dict) -> LlavaConfig:
        fields = {k: v for k, v in data.items() if k in LlavaConfig.__dataclass_fields__ and k not in ("vision_config", "text_config")}
        vision = {k: v for k, v in data["vision_config"].items() if k in VisionConfig.__dataclass_fields__}
        text = {k: v for k, v in data["text_config"].items() if k in TextConfig.__dataclass_fields__}
        return LlavaConfig(vision_config=VisionConfig(**vision), text_config=TextConfig(**text), **fields)


_VISION_ADDED = {"model_type": "clip_vision_model"}
_TEXT_ADDED = {"qkv_bias": False, "tie_word_embeddings": False}


def _activation(name: str):
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "gelu":
        return F.gelu
    if name == "gelu_pytorch_tanh":
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "silu":
        return F.silu
    raise ValueError(f"unsupported activation {name}")


# ---------------------------------------------------------------- vision tower (CLIP)


class ClipAttention(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        d = config.hidden_size
        self.heads = config.num_attention_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        h = self.heads
        q = self.q_proj(x).view(b, t, h, d // h).transpose(1, 2)
        k = self.k_proj(x).view(b, t, h, d // h).transpose(1, 2)
        v = self.v_proj(x).view(b, t, h, d // h).transpose(1, 2)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        return self.out_proj((weights @ v).transpose(1, 2).reshape(b, t, d))


class ClipMlp(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.fc1 = nn.Linear(config.hidden_size, config.intermediate_size)
        self.fc2 = nn.Linear(config.intermediate_size, config.hidden_size)
        self.act = _activation(config.hidden_act)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ClipEncoderLayer(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.self_attn = ClipAttention(config)
        self.layer_norm1 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.mlp = ClipMlp(config)
        self.layer_norm2 = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class ClipEmbeddings(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, config.patch_size, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(config.hidden_size) * 0.02)
        self.position_embedding = nn.Embedding(config.num_patches + 1, config.hidden_size)

    def forward(self, pixel_values):
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(patches.shape[0], 1, -1)
        return torch.cat([cls, patches], dim=1) + self.position_embedding.weight.unsqueeze(0)


class SiglipEmbeddings(nn.Module):
    """SigLIP: patches only (no CLS), the patch convolution has a bias, one learned position per patch."""

    def __init__(self, config: VisionConfig):
        super().__init__()
        self.patch_embedding = nn.Conv2d(config.num_channels, config.hidden_size, config.patch_size, config.patch_size, bias=True)
        self.position_embedding = nn.Embedding(config.num_patches, config.hidden_size)

    def forward(self, pixel_values):
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        return patches + self.position_embedding.weight.unsqueeze(0)


class ClipEncoder(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.layers = nn.ModuleList(ClipEncoderLayer(config) for _ in range(config.num_hidden_layers))


class ClipVisionModel(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        siglip = config.model_type == "siglip_vision_model"
        self.embeddings = SiglipEmbeddings(config) if siglip else ClipEmbeddings(config)
        # SigLIP has no pre-layernorm. Its post_layernorm is loaded but, as CLIP's, unused: LLaVA takes
        # an encoder layer's hidden states (transformers' hidden_states[layer]), never the normed output.
        self.pre_layrnorm = None if siglip else nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = ClipEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)


class ClipVisionTower(nn.Module):
    def __init__(self, config: VisionConfig):
        super().__init__()
        self.vision_model = ClipVisionModel(config)

    def forward(self, pixel_values: torch.Tensor, feature_layer: int = -2) -> torch.Tensor:
        """Hidden states of `feature_layer` (HF indexing: 0 = embeddings, -1 = last layer)."""
        model = self.vision_model
        x = model.embeddings(pixel_values)
        if model.pre_layrnorm is not None:
            x = model.pre_layrnorm(x)
        layers = len(model.encoder.layers)
        depth = feature_layer if feature_layer >= 0 else layers + 1 + feature_layer
        for layer in model.encoder.layers[:depth]:
            x = layer(x)
        return x


class Projector(nn.Module):
    """LLaVA-1.5's mlp2x_gelu."""

    def __init__(self, vision_width: int, text_width: int, act: str = "gelu"):
        super().__init__()
        self.linear_1 = nn.Linear(vision_width, text_width)
        self.linear_2 = nn.Linear(text_width, text_width)
        self.act = _activation(act)

    def forward(self, x):
        return self.linear_2(self.act(self.linear_1(x)))


# ---------------------------------------------------------------- language model (Llama)


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(variance + self.eps))


def rope(positions: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape [B, 1, T, head_dim] for explicit (tree) position ids."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=positions.device) / head_dim))
    angles = positions.to(torch.float32).unsqueeze(-1) * inv_freq
    emb = torch.cat([angles, angles], dim=-1).unsqueeze(1)
    return emb.cos(), emb.sin()


def _rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x, cos, sin):
    return x * cos + _rotate_half(x) * sin


class LlamaAttention(nn.Module):
    def __init__(self, config: TextConfig):
        super().__init__()
        self.config = config
        d, hd = config.hidden_size, config.head_dim
        self.q_proj = nn.Linear(d, config.num_attention_heads * hd, bias=config.qkv_bias)
        self.k_proj = nn.Linear(d, config.num_key_value_heads * hd, bias=config.qkv_bias)
        self.v_proj = nn.Linear(d, config.num_key_value_heads * hd, bias=config.qkv_bias)
        self.o_proj = nn.Linear(config.num_attention_heads * hd, d, bias=False)

    def forward(self, x, cos, sin, mask, past_key=None, past_value=None, rows=None):
        """`rows` (optional): the rows whose output is wanted. Keys and values come from every row (the
        cache needs them all), queries only from those rows, so the output has `len(rows)` rows."""
        c = self.config
        # Exported graphs spell the same function in fewer ONNX nodes (constant-shape reshapes,
        # rotate_half as one MatMul): torch would export shape arithmetic and slicing per layer.
        exporting = torch.onnx.is_in_onnx_export()
        q_cos, q_sin = cos, sin
        if rows is not None:
            x_query, q_cos, q_sin, mask = x.index_select(1, rows), cos.index_select(2, rows), sin.index_select(2, rows), mask.index_select(2, rows)
        else:
            x_query = x
        q = _split_heads(self.q_proj(x_query), c.num_attention_heads, c.head_dim, exporting)
        k = _split_heads(self.k_proj(x), c.num_key_value_heads, c.head_dim, exporting)
        v = _split_heads(self.v_proj(x), c.num_key_value_heads, c.head_dim, exporting)
        if exporting:
            rotation = _rotate_half_matrix(c.head_dim)
            q, k = q * q_cos + (q @ rotation) * q_sin, k * cos + (k @ rotation) * sin
        else:
            q, k = apply_rope(q, q_cos, q_sin), apply_rope(k, cos, sin)
        if past_key is not None:
            k = torch.cat([past_key, k], dim=2)
            v = torch.cat([past_value, v], dim=2)
        present = (k, v)
        groups = c.num_attention_heads // c.num_key_value_heads
        if groups > 1:
            k, v = _repeat_kv(k, groups, exporting), _repeat_kv(v, groups, exporting)
        scores = q @ k.transpose(-1, -2) / math.sqrt(c.head_dim) + mask
        out = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2)
        merged = _reshape_keeping(out, (0, -1, c.num_attention_heads * c.head_dim)) if exporting else out.reshape(out.shape[0], out.shape[1], -1)
        return self.o_proj(merged), present


def _repeat_kv(x: torch.Tensor, groups: int, exporting: bool) -> torch.Tensor:
    """[B, kv, T, D] -> [B, kv * groups, T, D], each KV head serving `groups` query heads in turn.

    Not repeat_interleave: torch 1.13 exports it with the shapes of the trace baked in, and the graph
    then fails at any other sequence length (grouped-query targets such as Qwen2 or Llama 3)."""
    # Head counts come from the config as plain ints: the traced graph keeps batch and length dynamic.
    kv, d = int(x.shape[1]), int(x.shape[3])
    expanded = x.unsqueeze(2).expand(-1, -1, groups, -1, -1)
    return _reshape_keeping(expanded, (0, kv * groups, -1, d)) if exporting else expanded.reshape(x.shape[0], kv * groups, x.shape[2], d)


def _split_heads(x: torch.Tensor, heads: int, head_dim: int, exporting: bool) -> torch.Tensor:
    """[B, T, heads * head_dim] -> [B, heads, T, head_dim]."""
    split = _reshape_keeping(x, (0, -1, heads, head_dim)) if exporting else x.view(x.shape[0], x.shape[1], heads, head_dim)
    return split.transpose(1, 2)


class _ReshapeKeeping(torch.autograd.Function):
    """Reshape where 0 keeps the input's dim (and -1 is inferred), exported as one ONNX Reshape with a constant shape
    (torch would otherwise export Shape/Gather/Unsqueeze/Concat to compute the dynamic dims)."""

    @staticmethod
    def forward(ctx, x, shape):
        return x.reshape([x.shape[i] if size == 0 else size for i, size in enumerate(shape)])

    @staticmethod
    def symbolic(g, x, shape):
        return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor(shape, dtype=torch.int64)))


def _reshape_keeping(x: torch.Tensor, shape: tuple) -> torch.Tensor:
    return _ReshapeKeeping.apply(x, shape)


def _rotate_half_matrix(head_dim: int) -> torch.Tensor:
    """R with x @ R == rotate_half(x)."""
    half = head_dim // 2
    rotation = torch.zeros(head_dim, head_dim)
    rotation[torch.arange(half) + half, torch.arange(half)] = -1.0
    rotation[torch.arange(half), torch.arange(half) + half] = 1.0
    return rotation


class LlamaMlp(nn.Module):
    def __init__(self, config: TextConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.hidden_size, config.intermediate_size, bias=False)
        self.down_proj = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: TextConfig, input_norm: bool = True):
        super().__init__()
        self.self_attn = LlamaAttention(config)
        self.mlp = LlamaMlp(config)
        # The MSD/EAGLE draft layer has no input norm: its input is already a fused feature.
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps) if input_norm else None
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, x, cos, sin, mask, past_key=None, past_value=None, rows=None):
        h = self.input_layernorm(x) if self.input_layernorm is not None else x
        attn, present = self.self_attn(h, cos, sin, mask, past_key, past_value, rows)
        x = (x if rows is None else x.index_select(1, rows)) + attn
        return x + self.mlp(self.post_attention_layernorm(x)), present


class LlamaModel(nn.Module):
    def __init__(self, config: TextConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(LlamaDecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class LlamaForCausalLM(nn.Module):
    def __init__(self, config: TextConfig):
        super().__init__()
        self.config = config
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, inputs_embeds, position_ids, mask, past: list | None = None, logits: bool = True):
        """Returns (logits, last hidden state after the final norm, presents); logits None when not asked for."""
        cos, sin = rope(position_ids, self.config.head_dim, self.config.rope_theta)
        if inputs_embeds.dtype != cos.dtype:  # a bf16 target (feature recording on a GPU) stays bf16
            cos, sin = cos.to(inputs_embeds.dtype), sin.to(inputs_embeds.dtype)
        x = inputs_embeds
        presents = []
        for i, layer in enumerate(self.model.layers):
            pk, pv = past[i] if past is not None else (None, None)
            x, present = layer(x, cos, sin, mask, pk, pv)
            presents.append(present)
        hidden = self.model.norm(x)
        # Feature recording needs only the hidden states; a 150k-word head over every position is gigabytes.
        return (self.lm_head(hidden) if logits else None), hidden, presents


def causal_mask(valid: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """[B, 1, T, T] additive mask: causal, and padded keys (valid == 0) hidden."""
    b, t = valid.shape
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool, device=valid.device)).unsqueeze(0) & valid.bool().unsqueeze(1)
    # A fully padded query row would softmax over nothing; let it see itself.
    allowed = allowed | torch.eye(t, dtype=torch.bool, device=valid.device).unsqueeze(0)
    return torch.where(allowed, 0.0, torch.finfo(dtype).min).unsqueeze(1).to(dtype)


class LlavaForConditionalGeneration(nn.Module):
    def __init__(self, config: LlavaConfig):
        super().__init__()
        self.config = config
        self.vision_tower = ClipVisionTower(config.vision_config)
        self.multi_modal_projector = Projector(config.vision_config.hidden_size, config.text_config.hidden_size, config.projector_hidden_act)
        self.language_model = LlamaForCausalLM(config.text_config)

    def image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        features = self.vision_tower(pixel_values, self.config.vision_feature_layer)
        if self.config.vision_feature_select_strategy == "default":
            features = features[:, 1:]
        return self.multi_modal_projector(features)

    def fuse(self, input_ids: torch.Tensor, image_features: torch.Tensor | None) -> torch.Tensor:
        """Token embeddings with image-token positions replaced by projected patches, in order."""
        is_image = input_ids == self.config.image_token_index
        safe_ids = input_ids.masked_fill(is_image, 0)
        embeds = self.language_model.model.embed_tokens(safe_ids)
        if image_features is not None and is_image.any():
            embeds = embeds.masked_scatter(is_image.unsqueeze(-1), image_features.reshape(-1, embeds.shape[-1]).to(embeds.dtype))
        return embeds

    def forward(self, input_ids, valid, pixel_values=None):
        features = self.image_features(pixel_values) if pixel_values is not None and pixel_values.shape[0] > 0 else None
        embeds = self.fuse(input_ids, features)
        positions = (valid.cumsum(-1) - 1).clamp(min=0)
        logits, hidden, _ = self.language_model(embeds, positions, causal_mask(valid))
        return logits, hidden, embeds


# ---------------------------------------------------------------- MSD draft


@dataclass
class DraftConfig:
    text_config: TextConfig
    decoupled: bool = True

    def to_dict(self) -> dict:
        text = asdict(self.text_config)
        for key, default in _TEXT_ADDED.items():  # as LlavaConfig.to_dict: Llama drafts serialise as before
            if text[key] == default:
                del text[key]
        return {"text_config": text, "decoupled": self.decoupled}


class MsdDraft(nn.Module):
    """EAGLE-style one-layer feature drafter with MSD's decoupled image inputs.

    Position i sees (target hidden f_i, the fused input embedding of position i+1). Where position
    i+1 is an image patch and the draft is decoupled, the raw projector output is the layer input and
    `fc` is skipped; elsewhere the input is fc([embed(token_{i+1}), f_i]).
    """

    def __init__(self, config: DraftConfig):
        super().__init__()
        t = config.text_config
        self.config = config
        self.embed_tokens = nn.Embedding(t.vocab_size, t.hidden_size)
        self.fc = nn.Linear(2 * t.hidden_size, t.hidden_size, bias=True)
        self.layers = nn.ModuleList([LlamaDecoderLayer(t, input_norm=False)])
        self.lm_head = nn.Linear(t.hidden_size, t.vocab_size, bias=False)
        for frozen in (self.embed_tokens, self.lm_head):
            frozen.weight.requires_grad_(False)

    def layer_input(self, input_ids, hidden_states, image_embeds, image_mask):
        """image_embeds holds the projector outputs at positions whose next token is an image patch."""
        token_embeds = self.embed_tokens(input_ids)
        mask = image_mask.unsqueeze(-1).to(hidden_states.dtype)
        if self.config.decoupled:
            fused = self.fc(torch.cat([token_embeds, hidden_states], dim=-1))
            return mask * image_embeds + (1 - mask) * fused
        # Ablation: image patches go through fc like text, their embedding standing in for the token's.
        next_embeds = mask * image_embeds + (1 - mask) * token_embeds
        return self.fc(torch.cat([next_embeds, hidden_states], dim=-1))

    def forward(self, input_ids, hidden_states, image_embeds, image_mask, position_ids, mask, past=None, rows=None):
        """`rows` (optional): compute the layer's output only for these rows (every row still enters the
        KV cache). A prefill or an update needs only its last row's output: the prompt's other rows
        would cost attention and MLP for nothing."""
        t = self.config.text_config
        x = self.layer_input(input_ids, hidden_states, image_embeds, image_mask)
        cos, sin = rope(position_ids, t.head_dim, t.rope_theta)
        pk, pv = past if past is not None else (None, None)
        out, present = self.layers[0](x, cos, sin, mask, pk, pv, rows)
        return out, present
