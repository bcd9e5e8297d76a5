package io.weightlab.common.vocab;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.weightlab.common.error.UsageException;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Map;

/**
 * How the model's old tokenizer splits a new token: its {@code tokenizer.json} run by Hugging Face's own tokenizers
 * library (DJL's JNI binding; the same Rust code as Python's {@code tokenizers}), without special tokens, so the
 * pieces are those {@code Tokenizer.from_file(...).encode(token, add_special_tokens=False)} gives. Driver only.
 */
public final class TokenizerPieces implements AutoCloseable {
    private final String file;
    private final HuggingFaceTokenizer tokenizer;

    private TokenizerPieces(String file, HuggingFaceTokenizer tokenizer) {
        this.file = file;
        this.tokenizer = tokenizer;
    }

    public static TokenizerPieces open(String file, byte[] tokenizerJson) {
        try {
            // no truncation or padding: a token's pieces, however many
            return new TokenizerPieces(file, HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false")));
        } catch (IOException | RuntimeException e) {
            throw new UsageException(file + ": the tokenizers library cannot load it: " + e.getMessage() + " (rule: TokenizerJson)");
        }
    }

    /** The ids of {@code token}'s pieces, in order (repeats kept). */
    public int[] split(String token) {
        Encoding e = tokenizer.encode(token, false, false);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = Math.toIntExact(ids[i]);
        return out;
    }

    public String file() { return file; }

    @Override
    public void close() { tokenizer.close(); }
}
