"""kstance: find officials' quotes in news text and label their stance and target.

The public entry points are :func:`kstance.extract.extract_quotes` for finding quotes and
:class:`kstance.predict.StanceClassifier` for labelling them. Importing the package is cheap:
torch and transformers load only when a classifier is built.
"""

__version__ = "0.1.0"

__all__ = ["StanceClassifier", "extract_quotes", "__version__"]


def __getattr__(name):
    # Lazy imports keep `import kstance` (and `kstance extract`) free of torch start-up cost.
    if name == "StanceClassifier":
        from kstance.predict import StanceClassifier

        return StanceClassifier
    if name == "extract_quotes":
        from kstance.extract import extract_quotes

        return extract_quotes
    raise AttributeError(f"module 'kstance' has no attribute {name!r}")
