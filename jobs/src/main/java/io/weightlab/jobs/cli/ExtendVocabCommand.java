package io.weightlab.jobs.cli;

import io.weightlab.common.vocab.VocabInitRegistry;
import io.weightlab.jobs.spark.SparkSupport;
import io.weightlab.jobs.surgery.ExtendVocabJob;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.concurrent.Callable;

@Command(name = "extend-vocab", mixinStandardHelpOptions = true,
        description = {"Appends new tokens to the input embedding and, when untied, the LM head; existing rows and every other tensor keep",
                "their bytes, config.json gets the new vocab_size, new_tokens.json the ids (docs/algorithms.md, \"Vocabulary expansion\").",
                "  weightlab extend-vocab llama/ --out llama-med/ --tokens med_tokens.jsonl --method subword-mean --pad-to 64"})
public class ExtendVocabCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "source checkpoint directory with config.json (and tokenizer.json to skip known tokens and look up pieces)")
    String source;

    @Mixin
    OutputOptions output;

    @Mixin
    SparkOptions spark;

    @Option(names = "--tokens", required = true, description = "new tokens: .txt one per line (subword-mean and convex split each with the model's tokenizer.json), or .jsonl {\"token\": ..., \"pieces\": [...]} or {\"token\": ..., \"ids\": [...]} to give the pieces")
    String tokens;

    @Option(names = "--method", required = true, description = "random[:std=S], mean, gaussian[:scale=K], subword-mean, convex[:alpha=A] (--list-methods)")
    String method;

    @Option(names = "--pad-to", defaultValue = "1", description = "round the new vocabulary size up to a multiple of N; padding rows are the mean row (default: ${DEFAULT-VALUE})")
    long padTo;

    @Option(names = "--seed", defaultValue = "0", description = "seed of random draws, with each token (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--max-shard-size", defaultValue = "5GB", converter = ByteSize.class, description = "largest shard (default: ${DEFAULT-VALUE})")
    long maxShardBytes;

    @Option(names = "--list-methods", help = true, description = "list the methods and their parameters, then exit")
    boolean listMethods;

    @Override
    public Integer call() {
        if (listMethods) {
            System.out.print(VocabInitRegistry.catalog().listing());
            return 0;
        }
        try (SparkSupport.Handle h = SparkSupport.open("weightlab extend-vocab", spark.master, spark.conf)) {
            ExtendVocabJob.run(h.context(), new ExtendVocabJob.Options(source, output.out, output.overwrite, tokens, method, padTo, seed, maxShardBytes), System.out);
            System.out.println("output: " + output.out);
            return 0;
        }
    }
}
