"""Reading the study a search left."""

from pathlib import Path


def load_study(journal: Path, name: str):
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(journal))))
