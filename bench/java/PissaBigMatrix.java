import io.weightlab.common.lora.LoraFactors;
import io.weightlab.common.lora.LoraRegistry;
import io.weightlab.common.lora.ModuleData;

import java.util.SplittableRandom;

/**
 * One matrix of a given shape through our pissa (Gram top-r, double) and pissa_niter_4 (sgemm sketch) factor step,
 * one thread, timed; the matrix is Gaussian(0, 0.02) rounded to float32, as a stored F32 weight would be.
 * usage: PissaBigMatrix ROWS COLS R   -> one JSON line
 */
public class PissaBigMatrix {
    public static void main(String[] args) {
        int m = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]), r = Integer.parseInt(args[2]);
        double[] w = new double[Math.multiplyExact(m, n)];
        SplittableRandom g = new SplittableRandom(7);
        for (int i = 0; i < w.length; i++) w[i] = (float) (g.nextGaussian() * 0.02);
        ModuleData d = ModuleData.ofWeight(w, m, n);
        LoraRegistry.create("pissa").init(ModuleData.ofWeight(new double[64 * 64], 64, 64), 4, 1, 0); // load natives, JIT
        long t0 = System.nanoTime();
        LoraFactors exact = LoraRegistry.create("pissa").init(d, r, 1.0, 0);
        long t1 = System.nanoTime();
        LoraFactors niter = LoraRegistry.create("pissa_niter_4").init(d, r, 1.0, 0);
        long t2 = System.nanoTime();
        System.out.printf("{\"rows\": %d, \"cols\": %d, \"r\": %d, \"pissa_s\": %.3f, \"pissa_niter_4_s\": %.3f, \"note_exact\": \"%s\"}%n",
                m, n, r, (t1 - t0) / 1e9, (t2 - t1) / 1e9, exact.note());
    }
}
