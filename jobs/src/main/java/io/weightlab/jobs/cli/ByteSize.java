package io.weightlab.jobs.cli;

import picocli.CommandLine;
import picocli.CommandLine.ITypeConverter;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** picocli converter for sizes: "5GB" is 5·10^9 bytes as in huggingface_hub, "5GiB" is 5·2^30, a bare number is bytes. */
public final class ByteSize implements ITypeConverter<Long> {
    private static final Pattern SIZE = Pattern.compile("(?i)\\s*(\\d+(?:\\.\\d+)?)\\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)?\\s*");

    @Override
    public Long convert(String s) {
        Matcher m = SIZE.matcher(s);
        if (!m.matches()) throw new CommandLine.TypeConversionException("size " + s + ": expected a size like 5GB, 500MB or 2GiB");
        double v = Double.parseDouble(m.group(1));
        String u = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        double mult = switch (u) {
            case "kb" -> 1e3; case "mb" -> 1e6; case "gb" -> 1e9; case "tb" -> 1e12;
            case "kib" -> 1024.0; case "mib" -> 1048576.0; case "gib" -> 1073741824.0; case "tib" -> 1099511627776.0;
            default -> 1;
        };
        long bytes = (long) (v * mult);
        if (bytes <= 0) throw new CommandLine.TypeConversionException("size " + s + " must be positive");
        return bytes;
    }
}
