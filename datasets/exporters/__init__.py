"""Dataset exporters: COCO (ground truth or results), YOLO and DDS TSV, streamed image by image."""
