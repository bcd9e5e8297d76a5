package io.weightlab.common.model;

/** What a tensor is inside a transformer, independent of the family's naming. */
public enum ModuleKind {
    ATTN_Q(Role.ATTENTION), ATTN_K(Role.ATTENTION), ATTN_V(Role.ATTENTION), ATTN_QKV(Role.ATTENTION), ATTN_O(Role.ATTENTION),
    MLP_GATE(Role.MLP), MLP_UP(Role.MLP), MLP_GATE_UP(Role.MLP), MLP_DOWN(Role.MLP),
    ROUTER(Role.ROUTER),
    EMBEDDING(Role.EMBEDDING), POSITION_EMBEDDING(Role.EMBEDDING), PATCH_EMBEDDING(Role.EMBEDDING),
    LM_HEAD(Role.HEAD),
    NORM(Role.NORM),
    RELATIVE_BIAS(Role.ATTENTION),
    BUFFER(Role.BUFFER),
    QUANT_SCALE(Role.QUANTIZATION), QUANT_ZERO_POINT(Role.QUANTIZATION), QUANT_OTHER(Role.QUANTIZATION),
    OTHER(Role.OTHER);

    /** The coarse group a module kind belongs to. */
    public enum Role { ATTENTION, MLP, ROUTER, EMBEDDING, HEAD, NORM, BUFFER, QUANTIZATION, OTHER }

    private final Role role;

    ModuleKind(Role role) { this.role = role; }

    public Role role() { return role; }

    public String label() { return name().toLowerCase(java.util.Locale.ROOT); }
}
