import io.weightlab.common.lora.LoraRegistry;
import io.weightlab.common.lora.ModuleData;

import java.util.SplittableRandom;

/**
 * One matrix of a given shape through our pissa (Gram top-r, double) and pissa_niter_4 (sgemm sketch) factor step,
 * one thread, timed; the matrix is Gaussian(0, 0.02) rounded to float32, as a stored F32 weight would be (pissa_niter_4
 * takes it as the off-heap float32 matrix lora-init reads; pissa as doubles).
 * usage: PissaBigMatrix ROWS COLS R [niter-only]  -> one JSON line; pissa_niter_4 is the median of three runs (the first
 * pays the conversion loops' JIT), exact pissa one run.
 */
public class PissaBigMatrix {
    public static void main(String[] args) {
        int m = Integer.parseInt(args[0]), n = Integer.parseInt(args[1]), r = Integer.parseInt(args[2]);
        double[] w = new double[Math.multiplyExact(m, n)];
        SplittableRandom g = new SplittableRandom(7);
        for (int i = 0; i < w.length; i++) w[i] = (float) (g.nextGaussian() * 0.02);
        ModuleData d = ModuleData.ofWeight(w, m, n);
        LoraRegistry.create("pissa").init(ModuleData.ofWeight(new double[64 * 64], 64, 64), 4, 1, 0); // load natives, JIT
        boolean niterOnly = args.length > 3 && args[3].equals("niter-only");
        // pissa_niter gets W as float32 off-heap, as lora-init reads it from F32/BF16 storage (torch's input is a float32 tensor too)
        double[] niter = new double[3];
        try (org.bytedeco.javacpp.FloatPointer wf = new org.bytedeco.javacpp.FloatPointer((long) w.length)) {
            float[] chunk = new float[1 << 16];
            for (int off = 0; off < w.length; off += chunk.length) {
                int c = Math.min(chunk.length, w.length - off);
                for (int i = 0; i < c; i++) chunk[i] = (float) w[off + i];
                wf.position(off).put(chunk, 0, c);
            }
            wf.position(0);
            for (int i = 0; i < niter.length; i++) {
                long t = System.nanoTime();
                LoraRegistry.create("pissa_niter_4").init(ModuleData.ofFloat32(wf, m, n), r, 1.0, 0);
                niter[i] = (System.nanoTime() - t) / 1e9;
            }
        }
        java.util.Arrays.sort(niter);
        long t0 = System.nanoTime();
        String note = niterOnly ? "skipped" : LoraRegistry.create("pissa").init(d, r, 1.0, 0).note();
        double exact = niterOnly ? Double.NaN : (System.nanoTime() - t0) / 1e9;
        System.out.printf("{\"rows\": %d, \"cols\": %d, \"r\": %d, \"pissa_s\": %s, \"pissa_niter_4_s\": %.3f, \"pissa_niter_4_runs\": \"%.3f %.3f %.3f\", \"note_exact\": \"%s\"}%n",
                m, n, r, niterOnly ? "null" : String.format("%.3f", exact), niter[1], niter[0], niter[1], niter[2], note);
    }
}
