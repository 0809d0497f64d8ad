"""Skill packs: what the agent is told, stage by stage (discover → implement → fix).

A pack is a folder `packs/<name>/<version>/` with a `manifest.json` (contracts/skills.py
PackManifest), one markdown instruction file per stage and the reference files the stages hand
to the agent. Operators add their own packs in AGENTPR_SKILLS_DIR (same layout), which shadow
the built-in ones. `catalog.py` finds, validates and checksums packs.
"""
