package io.weightlab.common.report;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYBarRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.geom.Rectangle2D;
import java.util.Map;
import java.util.function.DoubleUnaryOperator;

/** Report plots drawn by JFreeChart into inline SVG (JFreeSVG), so the HTML stays one self-contained file. */
public final class Charts {
    static final int W = 640, H = 340;

    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    static String svg(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getPlot().setBackgroundPaint(new Color(250, 250, 250));
        SVGGraphics2D g = new SVGGraphics2D(W, H);
        chart.draw(g, new Rectangle2D.Double(0, 0, W, H));
        return g.getSVGElement();
    }

    /** One line per series; points are {x, y} pairs; a log y axis on request. */
    public static String lines(String title, String x, String y, Map<String, double[][]> series, boolean logY) {
        XYSeriesCollection data = new XYSeriesCollection();
        series.forEach((name, pts) -> {
            XYSeries s = new XYSeries(name);
            for (double[] p : pts) if (Double.isFinite(p[1]) && (!logY || p[1] > 0)) s.add(p[0], p[1]);
            if (!s.isEmpty()) data.addSeries(s);
        });
        JFreeChart c = ChartFactory.createXYLineChart(title, x, y, data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = c.getXYPlot();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        plot.setRenderer(r);
        if (logY) plot.setRangeAxis(new LogAxis(y));
        ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        return svg(c);
    }

    /** A histogram as a density, with model densities drawn over it. */
    public static String histogram(String title, double[] edges, long[] counts, Map<String, DoubleUnaryOperator> pdfs) {
        long n = 0;
        for (long c : counts) n += c;
        XYSeriesCollection bars = new XYSeriesCollection();
        XYSeries h = new XYSeries("values");
        for (int i = 0; i < counts.length; i++) {
            double w = edges[i + 1] - edges[i];
            h.add((edges[i] + edges[i + 1]) / 2, n == 0 ? 0 : counts[i] / (n * w));
        }
        bars.addSeries(h);
        double binWidth = counts.length == 0 ? 1 : (edges[edges.length - 1] - edges[0]) / counts.length;
        JFreeChart c = ChartFactory.createXYBarChart(title, "value", false, "density",
                new org.jfree.data.xy.XYBarDataset(bars, binWidth), PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = c.getXYPlot();
        XYBarRenderer br = (XYBarRenderer) plot.getRenderer();
        br.setShadowVisible(false);
        br.setBarPainter(new org.jfree.chart.renderer.xy.StandardXYBarPainter());
        br.setDrawBarOutline(false);
        br.setSeriesPaint(0, new Color(150, 170, 200));
        XYSeriesCollection lines = new XYSeriesCollection();
        pdfs.forEach((name, f) -> {
            XYSeries s = new XYSeries(name);
            int k = 300;
            for (int i = 0; i <= k; i++) {
                double xv = edges[0] + (edges[edges.length - 1] - edges[0]) * i / k;
                double yv = f.applyAsDouble(xv);
                if (Double.isFinite(yv)) s.add(xv, yv);
            }
            lines.addSeries(s);
        });
        plot.setDataset(1, lines);
        XYLineAndShapeRenderer lr = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < pdfs.size(); i++) lr.setSeriesStroke(i, new BasicStroke(2f));
        plot.setRenderer(1, lr);
        return svg(c);
    }

    /**
     * Log-log empirical spectral density (tail distribution of the eigenvalues λ = σ²), with the fitted power
     * law P(λ' ≥ λ) ∝ λ^{1-α} from x_min on.
     */
    public static String esd(String title, double[] singularValues, double alpha, double xmin) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYSeries emp = new XYSeries("eigenvalues (tail fraction)");
        int n = singularValues.length;
        double[] ev = new double[n];
        for (int i = 0; i < n; i++) ev[i] = singularValues[i] * singularValues[i];
        java.util.Arrays.sort(ev);
        for (int i = 0; i < n; i++) if (ev[i] > 0) emp.add(ev[i], (double) (n - i) / n);
        data.addSeries(emp);
        if (alpha > 1 && Double.isFinite(xmin)) {
            long tail = java.util.Arrays.stream(ev).filter(v -> v >= xmin).count();
            XYSeries fit = new XYSeries("power law, alpha = " + String.format(java.util.Locale.ROOT, "%.2f", alpha));
            double max = ev[n - 1];
            for (int i = 0; i <= 50; i++) {
                double x = xmin * Math.pow(max / xmin, i / 50.0);
                fit.add(x, (double) tail / n * Math.pow(x / xmin, 1 - alpha));
            }
            data.addSeries(fit);
        }
        JFreeChart c = ChartFactory.createXYLineChart(title, "eigenvalue", "fraction >= eigenvalue", data, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = c.getXYPlot();
        plot.setDomainAxis(new LogAxis("eigenvalue (log)"));
        plot.setRangeAxis(new LogAxis("fraction >= eigenvalue (log)"));
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(false, true);
        r.setSeriesLinesVisible(1, true);
        r.setSeriesShapesVisible(1, false);
        plot.setRenderer(r);
        return svg(c);
    }
}
