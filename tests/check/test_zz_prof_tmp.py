import sys; sys.path.insert(0, "/tmp")
from tests.check.test_networks import runner  # noqa
import prof_networks
async def test_prof(runner, graph, tmp_path):
    await prof_networks.run(graph, tmp_path, runner)
