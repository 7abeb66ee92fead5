"""Installs the Python module: `pip install --no-build-isolation .` from the repository root.

The extension is built by the project's CMake (Release, for the machine's CPU unless RAM_ARCH
names another -march level) in a build folder of its own under build/, or in the folder
RAM_BUILD_DIR names when it is set (an existing build is then reused as it is configured, and
only the module target is built). Nothing is downloaded: the packages of scripts/setup.sh
(pybind11-dev, python3-dev, python3-numpy, python3-setuptools) must be installed.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version() -> str:
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        return re.search(r"project\(ram VERSION ([0-9.]+)", f.read()).group(1)


class CMakeExtension(Extension):
    def __init__(self, name: str):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        build_dir = os.environ.get("RAM_BUILD_DIR")
        if build_dir:
            build_dir = os.path.abspath(build_dir)
            if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
                raise RuntimeError(f"RAM_BUILD_DIR={build_dir} is not a configured CMake build")
        else:
            build_dir = os.path.join(ROOT, "build", "python-package")
            options = ["-DCMAKE_BUILD_TYPE=Release", "-DRAM_BUILD_TESTS=OFF",
                       f"-DPython3_EXECUTABLE={sys.executable}"]
            if "RAM_ARCH" in os.environ:
                options.append(f"-DRAM_ARCH={os.environ['RAM_ARCH']}")
            subprocess.check_call(["cmake", "-S", ROOT, "-B", build_dir, *options])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "_ram", "-j",
                               str(os.cpu_count() or 1)])
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        built = os.path.join(build_dir, "python", "ram", "_ram" + suffix)
        if not os.path.exists(built):
            found = glob.glob(os.path.join(build_dir, "python", "ram", "_ram*"))
            raise RuntimeError(f"the build made {found or 'no module'}, not {built}: it was "
                               f"configured for another Python than {sys.executable}")
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)


setup(
    name="ram",
    version=project_version(),
    description="The Recurrent Attention Model (Mnih et al. 2014): the C++ library from Python",
    python_requires=">=3.9",
    install_requires=["numpy"],
    packages=["ram"],
    package_dir={"ram": "python/ram"},
    package_data={"ram": ["*.pyi", "py.typed"]},
    ext_modules=[CMakeExtension("ram._ram")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
