package io.weightlab.common.transform;

/**
 * An [E, d] matrix whose row e is row ⌊e / G⌋ of a base [E/G, d] matrix drawn from {@code sampler}: the upcycled
 * router, where each virtual group of G experts shares one row and so identical logits (docs/algorithms.md §6.3).
 */
public record GroupedRowsAction(long seed, String tensor, Sampler sampler, long d, int g) implements TensorAction {
    @Override public boolean needsInput() { return false; }

    @Override
    public void apply(long first, double[] values, int count) {
        DrawnAction base = new DrawnAction(seed, tensor + "#base", sampler);
        double[] row = new double[(int) d];
        int done = 0;
        while (done < count) {
            long e = first + done, r = e / d, c = e % d;
            int take = (int) Math.min(count - done, d - c);
            base.apply((r / g) * d, row, (int) d);
            System.arraycopy(row, (int) c, values, done, take);
            done += take;
        }
    }

    @Override
    public String describe() {
        return sampler.describe() + Samplers.fmt(", rows shared by groups of %d", g);
    }
}
