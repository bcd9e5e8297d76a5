package io.weightlab.common.transform;

import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.random.Well19937c;

import java.nio.charset.StandardCharsets;

/**
 * Random streams that depend only on the seed, the tensor's name and the element block: element e of a tensor
 * is always drawn from the stream of block {@code e / BLOCK}, whichever task, slice or retry produces it.
 */
public final class TensorRandom {
    /** Elements per random stream; slices are cut anywhere, a stream is replayed from its start when needed. */
    public static final int BLOCK = 1 << 16;

    private TensorRandom() {}

    /** One block's share of an element range: elements [skip, skip + take) of block {@code block} go to {@code out[at..]}. */
    public interface BlockRun {
        void run(long block, int skip, int take, int at);
    }

    /**
     * Walks elements [first, first + count) block by block; a range that starts inside a block gets that block with
     * its {@code skip}, so the caller replays the block's draws up to the start and slicing never changes a value.
     */
    public static void forEachBlock(long first, int count, BlockRun run) {
        int done = 0;
        while (done < count) {
            long e = first + done;
            long block = e / BLOCK;
            int skip = (int) (e - block * BLOCK);
            int take = Math.min(count - done, BLOCK - skip);
            run.run(block, skip, take, done);
            done += take;
        }
    }

    /** The generator for one block of one tensor. */
    public static RandomGenerator forBlock(long seed, String tensor, long block) {
        return new Well19937c(blockSeed(seed, tensor, block));
    }

    public static long blockSeed(long seed, String tensor, long block) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the UTF-8 name
        for (byte b : tensor.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix(mix(seed ^ 0x9E3779B97F4A7C15L) ^ h) ^ mix(block + 0x632BE59BD9B4E019L);
    }

    /** The MurmurHash3 / SplitMix64 finaliser: a bijection that spreads every input bit. */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }
}
