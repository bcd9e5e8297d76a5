package io.weightlab.common.vocab;

import java.io.Serializable;
import java.util.List;

/**
 * One line of the new-tokens file: the token's text, and optionally the pieces the old tokenizer splits it into,
 * as strings ({@code pieces}) or as ids ({@code ids}); {@code line} is its 1-based line for error messages.
 */
public record NewToken(String token, List<String> pieces, int[] ids, int line) implements Serializable {
    public boolean hasPieces() { return pieces != null || ids != null; }
}
