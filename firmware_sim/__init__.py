"""firmware_sim: a simulated air-quality drone that speaks real MAVLink 2.

It flies a QGroundControl ``.plan`` with multirotor kinematics, samples a known
concentration field with simulated sensors, reports readings as NAMED_VALUE_FLOAT, answers
ground stations (parameters, commands, the mission protocol) and writes the ground truth:
of every reading as it flies, and of the field at any positions asked for
(``firmware-sim --truth-at``, :func:`write_truth_at`). It never imports ``dronesense``: the
two sides share no code.

Examples
--------
>>> from firmware_sim import SimConfig, Simulation
>>> sim = Simulation(SimConfig(mission="missions/plume-box.plan", connect=None,
...                            speedup=0, seed=1, truth="truth.csv"))  # doctest: +SKIP
>>> sim.run().summary()  # doctest: +SKIP
"""

from .errors import SimError
from .plan import Mission, MissionItem, load_plan
from .sim import SimConfig, SimResult, Simulation, run_simulation
from .truth import truth_at, write_truth_at
from .world import Field, load_field

__all__ = ["Field", "Mission", "MissionItem", "SimConfig", "SimError", "SimResult",
           "Simulation", "load_field", "load_plan", "run_simulation", "truth_at",
           "write_truth_at"]
__version__ = "0.1.0"
