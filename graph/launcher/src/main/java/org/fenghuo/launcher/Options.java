package org.fenghuo.launcher;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Command-line options of the launcher; unknown or malformed options stop it with a usage line. */
final class Options {
    record Instance(int port, Path dir) {}

    final List<Instance> instances = new ArrayList<>();
    long pageCache = parseSize("128m");
    long txMemory = 0;
    long parentPid = 0;
    boolean controlStdin = false;

    static Options parse(String[] args) {
        Options options = new Options();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--db" -> options.instances.add(instance(value(args, ++i, arg)));
                case "--page-cache" -> options.pageCache = parseSize(value(args, ++i, arg));
                case "--tx-memory" -> options.txMemory = parseSize(value(args, ++i, arg));
                case "--parent-pid" -> options.parentPid = Long.parseLong(value(args, ++i, arg));
                case "--control-stdin" -> options.controlStdin = true;
                default -> usage("unknown option " + arg);
            }
        }
        if (options.instances.isEmpty() && !options.controlStdin) {
            usage("at least one --db PORT=DIR is required");
        }
        return options;
    }

    private static Instance instance(String spec) {
        int eq = spec.indexOf('=');
        if (eq <= 0) {
            usage("--db expects PORT=DIR, got " + spec);
        }
        return new Instance(Integer.parseInt(spec.substring(0, eq)), Path.of(spec.substring(eq + 1)));
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            usage(option + " needs a value");
        }
        return args[i];
    }

    static long parseSize(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("k")) {
            unit = 1L << 10;
        } else if (t.endsWith("m")) {
            unit = 1L << 20;
        } else if (t.endsWith("g")) {
            unit = 1L << 30;
        }
        String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        return Long.parseLong(digits) * unit;
    }

    private static void usage(String problem) {
        Launcher.say("ERROR reason=" + problem.replaceAll("\\s+", "_"));
        System.err.println("usage: Launcher --db PORT=DIR [--db PORT=DIR ...] [--page-cache 128m] "
            + "[--tx-memory 512m] [--parent-pid PID] [--control-stdin]");
        System.exit(64);
    }
}
