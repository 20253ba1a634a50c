"""Models made elsewhere, brought in as ONNX files with seg_node metadata (``segtool import``)."""
