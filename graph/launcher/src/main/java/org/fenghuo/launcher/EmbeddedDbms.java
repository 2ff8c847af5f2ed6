package org.fenghuo.launcher;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;

/** One embedded DBMS: its own home directory, Bolt on loopback, no auth (loopback-only, dev and tests). */
final class EmbeddedDbms {
    private final DatabaseManagementService service;
    private final String version;

    private EmbeddedDbms(DatabaseManagementService service, String version) {
        this.service = service;
        this.version = version;
    }

    static EmbeddedDbms start(int port, Path home, long pageCacheBytes, long txMemoryBytes) {
        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home.toAbsolutePath())
            .setConfig(BoltConnector.enabled, true)
            .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
            .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
            // Keep-alive for every request makes the server hint a 120 s receive timeout, and the Python driver then
            // puts each socket read under asyncio.wait_for (a task and a timer per read): 0.04-0.1 ms of the API's CPU
            // per query, half the time of a 10,000-record read. Over loopback a closed peer is seen at once.
            .setConfig(BoltConnector.connection_keep_alive_type, BoltConnector.KeepAliveRequestType.OFF)
            .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheBytes)
            .setConfig(GraphDatabaseSettings.auth_enabled, false)
            .setConfig(GraphDatabaseSettings.plugin_dir, pluginDir())
            .setConfig(GraphDatabaseSettings.procedure_unrestricted, List.of("gds.*"));
        if (txMemoryBytes > 0) {
            builder.setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMemoryBytes);
        }
        DatabaseManagementService service = builder.build();
        String version = service.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
            "CALL dbms.components() YIELD versions RETURN versions[0] AS version",
            Map.of(),
            result -> String.valueOf(result.next().get("version")));
        return new EmbeddedDbms(service, version);
    }

    /** Graph Data Science's jars, copied by Maven beside the launcher jar (target/plugins). */
    private static Path pluginDir() {
        try {
            Path jar = Path.of(EmbeddedDbms.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.getParent().resolve("plugins").toAbsolutePath();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException("cannot locate the launcher jar to find its plugins", e);
        }
    }

    String version() {
        return version;
    }

    void stop() {
        service.shutdown();
    }
}
