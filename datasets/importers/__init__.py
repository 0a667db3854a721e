"""Dataset importers: one module per format, and the crash-safe framework that writes them.

``run_import(dataset, importer)`` does the writing; the format modules (``coco``, ``tsv``,
``yolo``, ``imagedir``) only parse files into ``ImageRecord``s.
"""
