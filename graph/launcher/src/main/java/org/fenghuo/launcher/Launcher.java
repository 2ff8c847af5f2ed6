package org.fenghuo.launcher;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Starts one or more independent embedded Neo4j DBMSs, each with its own home directory and a Bolt
 * connector on 127.0.0.1:PORT, in one JVM.
 *
 * <pre>
 * java -cp ... org.fenghuo.launcher.Launcher --db PORT=DIR [--db PORT=DIR ...]
 *      [--page-cache 128m] [--tx-memory 512m] [--parent-pid PID] [--control-stdin]
 * </pre>
 *
 * Prints "FENGHUO-NEO4J READY port=P version=V dir=D" per DBMS, then "FENGHUO-NEO4J ALL-READY".
 * SIGTERM/SIGINT shut every DBMS down cleanly. With --parent-pid the JVM exits when that process
 * ends, and with --control-stdin it exits when stdin closes, so a killed parent leaves no orphan.
 * --control-stdin also accepts the lines "start PORT DIR" and "stop PORT".
 */
public final class Launcher {
    private static final Map<Integer, EmbeddedDbms> RUNNING = new ConcurrentHashMap<>();
    private static volatile boolean stopping = false;

    private Launcher() {}

    public static void main(String[] args) throws Exception {
        Options options = Options.parse(args);
        Runtime.getRuntime().addShutdownHook(new Thread(Launcher::stopAll, "fenghuo-neo4j-shutdown"));
        if (options.parentPid > 0) {
            watchParent(options.parentPid);
        }
        for (Options.Instance instance : options.instances) {
            start(instance.port(), instance.dir(), options);
        }
        say("ALL-READY");
        if (options.controlStdin) {
            readCommands(options);
            System.exit(0);
        }
        Thread.currentThread().join();
    }

    private static void start(int port, Path dir, Options options) {
        if (RUNNING.containsKey(port)) {
            say("ERROR port=" + port + " reason=already-running");
            return;
        }
        try {
            EmbeddedDbms dbms = EmbeddedDbms.start(port, dir, options.pageCache, options.txMemory);
            RUNNING.put(port, dbms);
            say("READY port=" + port + " version=" + dbms.version() + " dir=" + dir.toAbsolutePath());
        } catch (RuntimeException e) {
            say("ERROR port=" + port + " reason=" + oneLine(e));
            if (!options.controlStdin) {
                System.exit(2);
            }
        }
    }

    private static void readCommands(Options options) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.trim().split("\\s+");
            if (words.length == 3 && words[0].equals("start")) {
                start(Integer.parseInt(words[1]), Path.of(words[2]), options);
            } else if (words.length == 2 && words[0].equals("stop")) {
                EmbeddedDbms dbms = RUNNING.remove(Integer.parseInt(words[1]));
                if (dbms != null) {
                    dbms.stop();
                }
                say("STOPPED port=" + words[1]);
            } else if (!line.isBlank()) {
                say("ERROR reason=unknown-command accepted=start PORT DIR|stop PORT");
            }
        }
    }

    private static void watchParent(long pid) {
        var parent = ProcessHandle.of(pid);
        if (parent.isEmpty()) {
            say("ERROR reason=parent-gone pid=" + pid);
            System.exit(3);
        }
        parent.get().onExit().thenRun(() -> System.exit(0));
    }

    private static synchronized void stopAll() {
        if (stopping) {
            return;
        }
        stopping = true;
        List<Integer> ports = new ArrayList<>(RUNNING.keySet());
        for (Integer port : ports) {
            EmbeddedDbms dbms = RUNNING.remove(port);
            try {
                dbms.stop();
                say("STOPPED port=" + port);
            } catch (RuntimeException e) {
                say("ERROR port=" + port + " reason=" + oneLine(e));
            }
        }
    }

    static void say(String message) {
        System.out.println("FENGHUO-NEO4J " + message);
        System.out.flush();
    }

    private static String oneLine(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        return (e.getMessage() + " / " + root).replaceAll("\\s+", " ");
    }
}
