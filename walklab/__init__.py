"""Shared code for the scripts: rendering, run directories, evaluation, training callbacks.

Modules that import MuJoCo are not imported here, so a script can call
``walklab.rendering.prepare_rendering()`` before MuJoCo picks its OpenGL backend.
"""
