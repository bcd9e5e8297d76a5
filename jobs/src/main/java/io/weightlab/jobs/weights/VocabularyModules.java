package io.weightlab.jobs.weights;

import io.weightlab.common.error.Suggestions;
import io.weightlab.common.error.UsageException;
import io.weightlab.common.lora.LoraModule;
import io.weightlab.common.model.ModuleKind;
import io.weightlab.common.model.TensorInfo;
import io.weightlab.common.model.TensorName;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * extract-lora's {@code --include embeddings,head} (spectrum's spelling): the token and position embeddings as PEFT's
 * embedding LoRA, the LM head as an ordinary Linear LoRA. A head tied to the input embedding (tie_word_embeddings, or
 * no head tensor stored) is one matrix with it: it is extracted once, as the embedding, since two adapters on one
 * shared weight would both be merged into it (docs/algorithms.md §33).
 */
final class VocabularyModules {
    static final List<String> INCLUDABLE = List.of("embeddings", "head");

    /** The extra modules, and the embedding whose adapter also stands for the tied head (empty when none is). */
    record Selection(List<LoraModule> modules, List<String> headTiedTo) {}

    private VocabularyModules() {}

    static void checkNames(Collection<String> include) {
        for (String s : include) {
            if (!INCLUDABLE.contains(s)) throw new UsageException("--include takes embeddings, head; not '" + s + "'" + Suggestions.didYouMean(s, INCLUDABLE));
        }
    }

    /** Whether the matrices of this module span the vocabulary (its long side): they take the Gram route. */
    static boolean vocabularyLong(LoraModule m) {
        ModuleKind.Role role = TensorName.parse(m.weight().name()).role();
        return (m.embedding() || role == ModuleKind.Role.HEAD) && m.weight().dim(0) >= m.weight().dim(1);
    }

    /**
     * {@code linear}: the modules --target-modules chose (an embedding among them is refused: PEFT adapts an
     * nn.Embedding with its own layer, which --include embeddings writes); {@code tiedConfig}: config.json says
     * tie_word_embeddings.
     */
    static Selection resolve(List<TensorInfo> tensors, Set<String> include, List<LoraModule> linear, boolean tiedConfig) {
        for (LoraModule m : linear) {
            if (TensorName.parse(m.weight().name()).role() == ModuleKind.Role.EMBEDDING) {
                throw new UsageException("--target-modules selects " + m.module() + ", an embedding: --include embeddings extracts it as PEFT's embedding LoRA");
            }
        }
        List<TensorInfo> embeddings = new ArrayList<>(), heads = new ArrayList<>();
        for (TensorInfo t : tensors) {
            if (t.rank() != 2 || !t.name().endsWith(".weight") || !t.dtype().isFloatingPoint()) continue;
            ModuleKind kind = TensorName.parse(t.name()).kind();
            if (kind == ModuleKind.EMBEDDING || kind == ModuleKind.POSITION_EMBEDDING) embeddings.add(t);
            else if (kind.role() == ModuleKind.Role.HEAD) heads.add(t);
        }
        TensorInfo tokens = embeddings.stream().filter(t -> TensorName.parse(t.name()).kind() == ModuleKind.EMBEDDING).findFirst().orElse(null);
        List<LoraModule> out = new ArrayList<>();
        if (include.contains("embeddings")) {
            if (embeddings.isEmpty()) throw new UsageException("--include embeddings: no 2-D floating-point embedding weight here");
            for (TensorInfo t : embeddings) out.add(LoraModule.embedding(t, module(t), 1, 1));
        }
        if (include.contains("head")) {
            String useEmbeddings = "; --include embeddings extracts their shared delta (merged, the head gets it too)";
            if (heads.isEmpty() || tiedConfig && tokens != null) {
                if (tokens == null) throw new UsageException("--include head: no 2-D floating-point head weight here");
                String why = heads.isEmpty() ? "no head tensor is stored, the head is tied to " + module(tokens)
                        : module(heads.get(0)) + " is tied to " + module(tokens) + " (tie_word_embeddings)";
                if (!include.contains("embeddings")) throw new UsageException("--include head: " + why + useEmbeddings);
                return new Selection(out, List.of(module(tokens)));
            }
            for (TensorInfo t : heads) {
                if (linear.stream().noneMatch(m -> m.weight().name().equals(t.name()))) {
                    // an nn.Linear: PEFT turns fan_in_fan_out off for it even in a Conv1D model
                    out.add(new LoraModule(t, module(t), 1, 1, 1, false));
                }
            }
        }
        return new Selection(out, List.of());
    }

    private static String module(TensorInfo t) {
        return t.name().substring(0, t.name().length() - ".weight".length());
    }
}
