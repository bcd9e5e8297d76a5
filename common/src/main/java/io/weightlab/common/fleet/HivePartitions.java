package io.weightlab.common.fleet;

/**
 * Hive-style partition directories ({@code model=a/step=1200}) as Spark writes and reads them and pyarrow's
 * {@code partitioning="hive"} decodes them: characters other than letters, digits and {@code . _ -} become
 * {@code %XX} (UTF-8 bytes), and a missing value is {@code __HIVE_DEFAULT_PARTITION__} (read back as null).
 */
public final class HivePartitions {
    public static final String NULL = "__HIVE_DEFAULT_PARTITION__";

    private HivePartitions() {}

    /** The relative directory of one checkpoint's rows. */
    public static String dir(String model, Long step) {
        return "model=" + escape(model) + "/step=" + (step == null ? NULL : Long.toString(step));
    }

    static String escape(String v) {
        StringBuilder b = new StringBuilder();
        for (byte x : v.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            char c = (char) (x & 0xff);
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') b.append(c);
            else b.append('%').append(String.format("%02X", x & 0xff));
        }
        // "." and ".." are not directory names a reader can keep
        String s = b.toString();
        return s.equals(".") || s.equals("..") ? s.replace(".", "%2E") : s;
    }
}
