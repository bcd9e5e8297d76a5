package io.weightlab.common.vocab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.weightlab.common.error.UsageException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The {@code --tokens} file (docs/algorithms.md, "Vocabulary expansion"): plain text, one token per line taken
 * verbatim (blank lines skipped), or {@code .jsonl}, one object per line with {@code token} and optionally its
 * {@code pieces} (strings of the old vocabulary) or {@code ids} (their ids). An empty file, a duplicate token or a
 * malformed line is refused with the file and line.
 */
public final class NewTokensFile {
    private static final Set<String> KEYS = Set.of("token", "pieces", "ids");
    private static final ObjectMapper JSON = new ObjectMapper();

    private NewTokensFile() {}

    public static List<NewToken> parse(String file, byte[] bytes) {
        boolean jsonl = file.endsWith(".jsonl") || file.endsWith(".json");
        String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n", -1);
        List<NewToken> out = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].endsWith("\r") ? lines[i].substring(0, lines[i].length() - 1) : lines[i];
            if (line.isBlank()) continue;
            NewToken t = jsonl ? jsonLine(file, i + 1, line) : new NewToken(line, null, null, i + 1);
            Integer before = seen.putIfAbsent(t.token(), i + 1);
            if (before != null) {
                throw new UsageException(file + ":" + (i + 1) + ": token '" + t.token() + "' is already on line " + before + " (rule: UniqueNewTokens)");
            }
            out.add(t);
        }
        if (out.isEmpty()) throw new UsageException(file + ": no tokens (one per line, or .jsonl objects with \"token\") (rule: NonEmptyTokens)");
        return out;
    }

    private static NewToken jsonLine(String file, int line, String text) {
        String where = file + ":" + line + ": ";
        JsonNode n;
        try {
            n = JSON.readTree(text);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UsageException(where + "not JSON: " + e.getOriginalMessage() + " (rule: JsonlToken)");
        }
        if (n == null || !n.isObject()) throw new UsageException(where + "not a JSON object (rule: JsonlToken)");
        n.fieldNames().forEachRemaining(k -> {
            if (!KEYS.contains(k)) throw new UsageException(where + "unknown key '" + k + "'; keys: token, pieces, ids (rule: JsonlToken)");
        });
        JsonNode token = n.get("token");
        if (token == null || !token.isTextual() || token.asText().isEmpty()) throw new UsageException(where + "\"token\" must be a non-empty string (rule: JsonlToken)");
        if (n.has("pieces") && n.has("ids")) throw new UsageException(where + "give \"pieces\" or \"ids\", not both (rule: JsonlToken)");
        List<String> pieces = null;
        int[] ids = null;
        if (n.has("pieces")) {
            JsonNode p = n.get("pieces");
            if (!p.isArray() || p.isEmpty()) throw new UsageException(where + "\"pieces\" must be a non-empty array of strings (rule: JsonlToken)");
            pieces = new ArrayList<>();
            for (JsonNode s : p) {
                if (!s.isTextual()) throw new UsageException(where + "\"pieces\" must be a non-empty array of strings (rule: JsonlToken)");
                pieces.add(s.asText());
            }
        }
        if (n.has("ids")) {
            JsonNode p = n.get("ids");
            if (!p.isArray() || p.isEmpty()) throw new UsageException(where + "\"ids\" must be a non-empty array of integers (rule: JsonlToken)");
            ids = new int[p.size()];
            for (int k = 0; k < ids.length; k++) {
                if (!p.get(k).canConvertToInt() || !p.get(k).isIntegralNumber() || p.get(k).asInt() < 0) {
                    throw new UsageException(where + "\"ids\" must be a non-empty array of non-negative integers (rule: JsonlToken)");
                }
                ids[k] = p.get(k).asInt();
            }
        }
        return new NewToken(token.asText(), pieces == null ? null : List.copyOf(pieces), ids, line);
    }
}
