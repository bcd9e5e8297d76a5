package io.weightlab.common.merge;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** karcher and sce from the Gram matrix alone, against closed forms (tolerance 1e-12 unless stated). */
class GramMethodsTest {

    static double[] gram(double[][] xs) {
        int n = xs.length;
        double[] g = new double[n * n];
        for (int i = 0; i < n; i++) for (int k = 0; k < n; k++) for (int j = 0; j < xs[i].length; j++) g[i * n + k] += xs[i][j] * xs[k][j];
        return g;
    }

    static double[] combine(double[] c, double[][] xs) {
        double[] out = new double[xs[0].length];
        for (int i = 0; i < xs.length; i++) for (int j = 0; j < out.length; j++) out[j] += c[i] * xs[i][j];
        return out;
    }

    @Test
    void karcherOfPointsOnOneGreatCircleIsTheMeanAngleTimesTheMeanNorm() {
        // on a geodesic the Fréchet mean of directions at angles 0°, 60°, 90° is at 50°; norms 1, 2, 3 give scale 2
        double[] deg = {0, 60, 90}, norm = {1, 2, 3};
        double[][] xs = new double[3][];
        for (int i = 0; i < 3; i++) {
            double a = Math.toRadians(deg[i]);
            xs[i] = new double[] {norm[i] * Math.cos(a), norm[i] * Math.sin(a), 0};
        }
        double[] r = combine(Karcher.coefficients(gram(xs), 3, 50, 1e-12), xs);
        assertEquals(2 * Math.cos(Math.toRadians(50)), r[0], 1e-9);
        assertEquals(2 * Math.sin(Math.toRadians(50)), r[1], 1e-9);
        assertEquals(0, r[2], 1e-15);
    }

    @Test
    void karcherOfTwoOrthogonalUnitsIsTheirBisectorAndZerosOnlyScale() {
        double[][] xs = {{1, 0}, {0, 1}, {0, 0}};
        double[] r = combine(Karcher.coefficients(gram(xs), 3, 10, 1e-5), xs);
        // the zero tensor is left out of the direction but counts in the scale: (1 + 1 + 0)/3
        double s = 2.0 / 3 / Math.sqrt(2);
        assertEquals(s, r[0], 1e-12);
        assertEquals(s, r[1], 1e-12);
        double[] one = Karcher.coefficients(gram(new double[][] {{3, 4}}), 1, 10, 1e-5);
        assertEquals(1.0, one[0], 0);
        double[] none = Karcher.coefficients(gram(new double[][] {{0, 0}, {0, 0}}), 2, 10, 1e-5);
        assertEquals(0.0, none[0] + none[1], 0);
    }

    @Test
    void sceWeightsAreMeanSquaresOrUniformBelowTheFloor() {
        double[] g = {4e-3, 0, 0, 12e-3};           // Σ τ² of two deltas over 100 elements: means 4e-5, 1.2e-4
        double[] c = Sce.coefficients(new double[] {g[0], g[3]}, 100);
        assertEquals(0.25, c[0], 1e-12);
        assertEquals(0.75, c[1], 1e-12);
        double[] u = Sce.coefficients(new double[] {4e-5, 12e-5}, 100); // means 4e-7 + 1.2e-6 = 1.6e-6: just above the floor
        assertEquals(0.25, u[0], 1e-12);
        double[] tiny = Sce.coefficients(new double[] {4e-6, 12e-6}, 100); // means sum to 1.6e-7 < 1e-6
        assertEquals(0.5, tiny[0], 0);
        assertEquals(0.5, tiny[1], 0);
    }
}
