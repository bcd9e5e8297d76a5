package io.weightlab.common.vocab;

import io.weightlab.common.error.UsageException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Spark-free parts of extend-vocab: row moments merged in pieces, per-token streams, the tokens file, tokenizer.json. */
class VocabInitsTest {
    /** Merged partials of uneven row blocks give the two-pass mean and population covariance (to 1e-12 relative). */
    @Test
    void rowMomentsMergeLikeOnePass() {
        int n = 1003, d = 7;
        Random r = new Random(4);
        double[] e = new double[n * d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) e[i * d + j] = 1e3 * (j + 1) + r.nextGaussian() * (j + 1) * 0.01; // large offset: a one-pass sum would lose digits
        double[] mu = new double[d], cov = new double[d * d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mu[j] += e[i * d + j] / n;
        for (int i = 0; i < n; i++) for (int a = 0; a < d; a++) for (int b = 0; b < d; b++) cov[a * d + b] += (e[i * d + a] - mu[a]) * (e[i * d + b] - mu[b]) / n;

        RowMoments total = new RowMoments(d, true);
        int[] cuts = {0, 1, 250, 251, 700, 1003};
        for (int c = 0; c + 1 < cuts.length; c++) {
            RowMoments part = new RowMoments(d, true);
            int from = cuts[c];
            while (from < cuts[c + 1]) { // blocks inside a partial, as a task reads them
                int k = Math.min(97, cuts[c + 1] - from);
                double[] block = java.util.Arrays.copyOfRange(e, from * d, (from + k) * d);
                part.add(block, k);
                from += k;
            }
            total.merge(part);
        }
        assertEquals(n, total.count());
        double[] m = total.mean(), c = total.covariance();
        for (int j = 0; j < d; j++) assertEquals(mu[j], m[j], 1e-12 * Math.abs(mu[j]));
        for (int i = 0; i < d * d; i++) assertEquals(cov[i], c[i], 1e-9 * Math.abs(cov[(i / d) * d + i / d]) + 1e-18, "cov " + i);
    }

    /** A token's row depends only on (seed, role, token): not on its batch, its position or the other tokens. */
    @Test
    void rowsAreReproducibleFromSeedAndToken() {
        VocabInit.RowFiller f = new VocabInits.Random(0.5).prepare(null, 0.02, 9, "input", VocabInit.Sharing.IN_TASK);
        int d = 5;
        double[] alone = new double[d], withOthers = new double[3 * d], otherSeed = new double[d];
        f.fill(List.of(new VocabInit.NewRow("x", null)), d, null, alone);
        f.fill(List.of(new VocabInit.NewRow("a", null), new VocabInit.NewRow("b", null), new VocabInit.NewRow("x", null)), d, null, withOthers);
        assertArrayEquals(alone, java.util.Arrays.copyOfRange(withOthers, 2 * d, 3 * d), 0);
        new VocabInits.Random(0.5).prepare(null, 0.02, 10, "input", VocabInit.Sharing.IN_TASK).fill(List.of(new VocabInit.NewRow("x", null)), d, null, otherSeed);
        assertFalse(java.util.Arrays.equals(alone, otherSeed));
        VocabInit.RowFiller head = new VocabInits.Random(0.5).prepare(null, 0.02, 9, "output", VocabInit.Sharing.IN_TASK);
        double[] out = new double[d];
        head.fill(List.of(new VocabInit.NewRow("x", null)), d, null, out);
        assertFalse(java.util.Arrays.equals(alone, out), "an untied head draws its own rows");
    }

    /** Convex weights are a point of the simplex: the row lies between its pieces' rows, coordinate by coordinate. */
    @Test
    void convexRowsStayInTheHull() {
        int d = 3;
        double[][] rows = {{0, 0, 0}, {1, 2, 3}, {-1, 5, 0.5}};
        VocabInit.RowSource src = (i, out, off) -> System.arraycopy(rows[i], 0, out, off, d);
        double[] x = new double[d];
        new VocabInits.Convex(0.3).prepare(null, 0, 1, "input", VocabInit.Sharing.IN_TASK).fill(List.of(new VocabInit.NewRow("t", new int[] {1, 2})), d, src, x);
        double w = x[0] == 0 ? 0 : (x[0] + 1) / 2; // x = w·r1 + (1-w)·r2: w from the first coordinate, checked on the others
        assertTrue(w >= 0 && w <= 1, "weight " + w);
        assertEquals(w * 2 + (1 - w) * 5, x[1], 1e-12);
        assertEquals(w * 3 + (1 - w) * 0.5, x[2], 1e-12);
    }

    @Test
    void tokensFileRules() {
        List<NewToken> t = NewTokensFile.parse("a.txt", "x\r\n\n y\n".getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of("x", " y"), t.stream().map(NewToken::token).toList());
        assertEquals(3, t.get(1).line());
        List<NewToken> j = NewTokensFile.parse("a.jsonl", "{\"token\": \"ab\", \"ids\": [3, 4]}\n{\"token\": \"c\", \"pieces\": [\"c\"]}\n".getBytes(StandardCharsets.UTF_8));
        assertArrayEquals(new int[] {3, 4}, j.get(0).ids());
        assertEquals(List.of("c"), j.get(1).pieces());
        assertNull(j.get(1).ids());
        assertRefused("a.txt", "x\ny\nx\n", "a.txt:3: token 'x' is already on line 1");
        assertRefused("a.txt", " \n", "NonEmptyTokens");
        assertRefused("a.jsonl", "{\"token\": \"x\"\n", "a.jsonl:1: not JSON");
        assertRefused("a.jsonl", "{\"token\": \"x\", \"piece\": [\"x\"]}\n", "unknown key 'piece'");
        assertRefused("a.jsonl", "{\"token\": \"x\", \"pieces\": [\"x\"], \"ids\": [1]}\n", "not both");
        assertRefused("a.jsonl", "{\"token\": \"x\", \"ids\": [-1]}\n", "non-negative");
    }

    private static void assertRefused(String file, String text, String message) {
        UsageException e = assertThrows(UsageException.class, () -> NewTokensFile.parse(file, text.getBytes(StandardCharsets.UTF_8)));
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void tokenizerVocabularies() {
        String bpe = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"Ġb\": 1}}, \"added_tokens\": [{\"id\": 2, \"content\": \"<s>\"}]}";
        TokenizerVocab v = TokenizerVocab.parse("t.json", bpe.getBytes(StandardCharsets.UTF_8));
        assertEquals(1, v.id("Ġb"));
        assertEquals(2, v.id("<s>"));
        assertNull(v.id("b"));
        String unigram = "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"<unk>\", 0], [\"▁x\", -1.5]]}}";
        assertEquals(1, TokenizerVocab.parse("t.json", unigram.getBytes(StandardCharsets.UTF_8)).id("▁x"));
        assertThrows(UsageException.class, () -> TokenizerVocab.parse("t.json", "{}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void registryChecksNamesAndParameters() {
        assertTrue(VocabInitRegistry.create("gaussian:scale=1") instanceof VocabInits.Gaussian g && g.scale() == 1);
        assertEquals(0.5, ((VocabInits.Convex) VocabInitRegistry.create("convex:alpha=0.5")).alpha());
        assertNull(((VocabInits.Random) VocabInitRegistry.create("random")).std());
        assertTrue(assertThrows(UsageException.class, () -> VocabInitRegistry.create("subword_mean")).getMessage().contains("did you mean 'subword-mean'"));
        assertTrue(assertThrows(UsageException.class, () -> VocabInitRegistry.create("gaussian:scale=-1")).getMessage().contains("positive"));
        assertTrue(assertThrows(UsageException.class, () -> VocabInitRegistry.create("mean:std=1")).getMessage().contains("takes no parameters"));
    }
}
