package io.weightlab.common.vocab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The string → id table of a Hugging Face {@code tokenizer.json}: {@code model.vocab} (an object for BPE, WordPiece
 * and WordLevel, a list of [piece, score] for Unigram, where the id is the position) and {@code added_tokens}.
 * Strings are compared exactly as stored (byte-level BPE spells a leading space 'Ġ').
 */
public final class TokenizerVocab {
    private final Map<String, Integer> ids;

    private TokenizerVocab(Map<String, Integer> ids) {
        this.ids = ids;
    }

    public static TokenizerVocab parse(String file, byte[] bytes) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(bytes);
        } catch (IOException e) {
            throw new UsageException(file + ": not JSON: " + e.getMessage() + " (rule: TokenizerJson)");
        }
        JsonNode vocab = root.path("model").path("vocab");
        Map<String, Integer> ids = new HashMap<>();
        if (vocab.isObject()) {
            vocab.fields().forEachRemaining(e -> ids.put(e.getKey(), e.getValue().asInt()));
        } else if (vocab.isArray()) {
            for (int i = 0; i < vocab.size(); i++) ids.put(vocab.get(i).path(0).asText(), i);
        } else {
            throw new UsageException(file + ": no model.vocab object or list (rule: TokenizerJson)");
        }
        for (JsonNode a : root.path("added_tokens")) ids.put(a.path("content").asText(), a.path("id").asInt());
        return new TokenizerVocab(ids);
    }

    /** The id of {@code token}, or null when the old vocabulary does not hold it. */
    public Integer id(String token) { return ids.get(token); }

    public int size() { return ids.size(); }
}
